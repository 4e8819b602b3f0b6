import { readFileSync } from 'node:fs';

import { CliUsageError, processIO, type CliIO } from './io.js';
import { reportError } from './report-error.js';

type Run = (argv: string[], io: CliIO) => Promise<number>;

/**
 * The commands, each imported only when it runs: `clip-agiqa --help` (and any one command) loads
 * nothing it does not need, in particular no ONNX Runtime or sharp for help and usage errors.
 */
const COMMANDS: Record<string, { summary: string; run: Run }> = {
  score: { summary: 'score images (files, folders, globs) with a CLIP-AGIQA model', run: async (a, io) => (await import('./commands/score.js')).scoreCommand(a, io) },
  import: { summary: 'import a CLIP (hf:OWNER/NAME or a transformers.js folder) with zero-shot heads', run: async (a, io) => (await import('./commands/import.js')).importCommand(a, io) },
  info: { summary: 'describe a model bundle', run: async (a, io) => (await import('./commands/info.js')).infoCommand(a, io) },
  report: { summary: 'an HTML report of saved score --json lines', run: async (a, io) => (await import('./commands/report.js')).reportCommand(a, io) },
  train: { summary: 'train and evaluate a CLIP-AGIQA head on a dataset', run: async (a, io) => (await import('./commands/train.js')).trainCommand(a, io) },
  eval: { summary: "evaluate a bundle's head on a dataset", run: async (a, io) => (await import('./commands/evaluate.js')).evalCommand(a, io) },
  embed: { summary: 'fill the embedding cache for a dataset', run: async (a, io) => (await import('./commands/evaluate.js')).embedCommand(a, io) },
  serve: { summary: 'run the webhook service (filter, rank, best-of-N, reroll)', run: async (a, io) => (await import('./commands/serve.js')).serveCommand(a, io) },
  bridge: { summary: 'run the websocket bridge for the ComfyUI node pack', run: async (a, io) => (await import('./commands/bridge.js')).bridgeCommand(a, io) },
  comfy: { summary: 'best-of-N and reroll over a ComfyUI workflow', run: async (a, io) => (await import('./commands/comfy.js')).comfyCommand(a, io) },
};

const USAGE = `Usage: clip-agiqa <command> [options]

Commands:
${Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(9)}${c.summary}`).join('\n')}

Run clip-agiqa <command> --help (or clip-agiqa help <command>) for its options.
--verbose (anywhere) prints the stack of an unexpected error.
Without --model, commands use the untrained demo model, whose scores mean nothing.`;

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/** Runs the CLI; resolves to the exit status. */
export async function main(args: string[], io: CliIO = processIO()): Promise<number> {
  const end = args.indexOf('--');
  const options = end < 0 ? args : args.slice(0, end);
  const verbose = options.includes('--verbose');
  const argv = verbose ? [...options.filter((a) => a !== '--verbose'), ...(end < 0 ? [] : args.slice(end))] : args;
  const [command, ...rest] = argv;
  if (verbose) io = { ...io, verbose };
  try {
    if (command !== undefined && Object.hasOwn(COMMANDS, command)) return await COMMANDS[command]!.run(rest, io);
    switch (command) {
      case '--version':
      case '-v':
        io.stdout.write(`${version()}\n`);
        return 0;
      case 'help':
        if (rest[0] !== undefined && Object.hasOwn(COMMANDS, rest[0])) return await COMMANDS[rest[0]]!.run(['--help'], io);
        io.stdout.write(`${USAGE}\n`);
        return 0;
      case undefined:
      case '--help':
      case '-h':
        io.stdout.write(`${USAGE}\n`);
        return command === undefined ? 2 : 0;
      default:
        throw new CliUsageError(`unknown command ${command}`);
    }
  } catch (e) {
    return reportError(e, io, verbose);
  }
}
