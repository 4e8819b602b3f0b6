import { readFileSync } from 'node:fs';

import { isClipAgiqaError, isUsageError } from '@clip-agiqa/core';

import { bridgeCommand, BRIDGE_USAGE } from './commands/bridge.js';
import { comfyCommand, COMFY_USAGE } from './commands/comfy.js';
import { infoCommand, INFO_USAGE } from './commands/info.js';
import { scoreCommand, SCORE_USAGE } from './commands/score.js';
import { serveCommand, SERVE_USAGE } from './commands/serve.js';
import { embedCommand, EMBED_USAGE, evalCommand, EVAL_USAGE } from './commands/evaluate.js';
import { trainCommand, TRAIN_USAGE } from './commands/train.js';
import { CliUsageError, processIO, type CliIO } from './io.js';

const USAGE = `Usage: clip-agiqa <command> [options]

Commands:
  score PATHS...   score images (files, folders, globs) with a CLIP-AGIQA model
  info             describe a model bundle
  train            train and evaluate a CLIP-AGIQA head on a dataset
  eval             evaluate a bundle's head on a dataset
  embed            fill the embedding cache for a dataset
  serve            run the webhook service (filter, rank, best-of-N, reroll)
  bridge           run the websocket bridge for the ComfyUI node pack
  comfy            best-of-N and reroll over a ComfyUI workflow

Run clip-agiqa <command> --help for its options. --verbose (anywhere) prints the stack of an unexpected error.

${SCORE_USAGE}

${INFO_USAGE}

${TRAIN_USAGE}

${EVAL_USAGE}

${EMBED_USAGE}

${SERVE_USAGE}

${BRIDGE_USAGE}

${COMFY_USAGE}`;

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/**
 * What the user sees of an error, and the exit status: a usage error (bad flag, missing operand, unknown
 * command) exits 2 with the usage hint; an error of the SDK exits 1 with its code, on one line; anything
 * else is a bug or a system error: one line too, and its stack only with --verbose.
 */
export function reportError(e: unknown, io: CliIO, verbose = false): number {
  const stack = verbose && e instanceof Error && e.stack ? `${e.stack}\n` : '';
  if (isUsageError(e) || (e as NodeJS.ErrnoException | undefined)?.code?.startsWith?.('ERR_PARSE_ARGS')) {
    io.stderr.write(`clip-agiqa: ${(e as Error).message}\nRun clip-agiqa --help for usage.\n${stack}`);
    return 2;
  }
  if (isClipAgiqaError(e)) {
    io.stderr.write(`clip-agiqa: [${e.code}] ${e.message}\n${stack}`);
    return 1;
  }
  const message = e instanceof Error ? e.message : String(e);
  io.stderr.write(`clip-agiqa: ${message}\n${stack || 'Run again with --verbose for the stack trace.\n'}`);
  return 1;
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
    switch (command) {
      case 'score':
        return await scoreCommand(rest, io);
      case 'info':
        return await infoCommand(rest, io);
      case 'train':
        return await trainCommand(rest, io);
      case 'eval':
        return await evalCommand(rest, io);
      case 'embed':
        return await embedCommand(rest, io);
      case 'serve':
        return await serveCommand(rest, io);
      case 'bridge':
        return await bridgeCommand(rest, io);
      case 'comfy':
        return await comfyCommand(rest, io);
      case '--version':
      case '-v':
        io.stdout.write(`${version()}\n`);
        return 0;
      case undefined:
      case 'help':
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
