import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

import { bestOfN, ComfyClient, ComfyPool, rerollUntil, type Candidate, type Workflow } from '@clip-agiqa/comfyui';

import { CliUsageError, parseNumber, positiveInteger, type CliIO } from '../io.js';
import { SCORER_FLAGS, SCORER_FLAGS_HELP, scorerFromFlags } from '../scorer-flags.js';

export const COMFY_USAGE = `Usage: clip-agiqa comfy best-of --workflow FILE --n N [options]
       clip-agiqa comfy reroll --workflow FILE --threshold T --max-attempts N [options]

Runs an API-format ComfyUI workflow with fresh seeds and scores its images with CLIP-AGIQA:
best-of queues N variations at once and keeps the best; reroll regenerates until an image reaches
the threshold (or attempts run out, then keeps the best). Prints every attempt and its score.

Options:
  --host URL[,URL...]  ComfyUI server(s) (default http://127.0.0.1:8188); several: least-busy dispatch
  --seed-node ID[.IN]  input that plays the seed (repeatable; default: every seed/noise_seed input)
  --max-seed N         largest seed drawn (default 4294967295; e.g. 16777215 for a colour input)
  --output-node ID     only images of this node are candidates (repeatable)
  --head NAME          the head that scores (default: the model's first)
${SCORER_FLAGS_HELP}
  --out DIR            write the winning image (and, for best-of, all ranked) there`;

export async function comfyCommand(argv: string[], io: CliIO): Promise<number> {
  const [mode, ...rest] = argv;
  if (mode === '--help' || mode === '-h' || mode === undefined) {
    io.stdout.write(`${COMFY_USAGE}\n`);
    return mode === undefined ? 2 : 0;
  }
  if (mode !== 'best-of' && mode !== 'reroll') throw new CliUsageError(`comfy: unknown mode ${mode} (best-of or reroll)`);
  const { values } = parseArgs({ args: rest, strict: true, options: {
    host: { type: 'string', default: 'http://127.0.0.1:8188' }, workflow: { type: 'string' }, n: { type: 'string' }, threshold: { type: 'string' },
    'max-attempts': { type: 'string' }, 'seed-node': { type: 'string', multiple: true }, 'max-seed': { type: 'string' },
    'output-node': { type: 'string', multiple: true }, ...SCORER_FLAGS, head: { type: 'string' }, out: { type: 'string' },
  } });
  if (!values.workflow) throw new CliUsageError('comfy needs --workflow (an API-format workflow JSON)');
  const workflow = JSON.parse(await readFile(values.workflow, 'utf8')) as Workflow;
  const maxSeed = parseNumber('max-seed', values['max-seed'], positiveInteger, 'a positive integer');
  const clients = values.host.split(',').map((h) => new ComfyClient(h.trim()));
  const runner = clients.length === 1 ? clients[0]! : new ComfyPool(clients);
  const scorer = await scorerFromFlags(values, io);
  const headInfo = scorer.model.heads.find((h) => h.name === (values.head ?? scorer.model.heads[0]!.name));
  if (!headInfo) throw new CliUsageError(`--head: the model has no head ${values.head}`);
  const head = headInfo.name;
  const score = async (images: Buffer[]) => (await scorer.score(images)).map((o) => ('scores' in o ? o.scores[head]! : NaN));
  const show = (c: Candidate | null) => (c ? `${c.score.toFixed(3)} (seed ${c.seed}, prompt ${c.promptId})` : 'no image scored');
  const common = {
    runner, workflow, score, higherIsBetter: headInfo.higherIsBetter, ...(values['seed-node'] ? { seedNodes: values['seed-node'] } : {}), ...(maxSeed ? { maxSeed } : {}),
    ...(values['output-node'] ? { outputNodes: values['output-node'] } : {}),
    onAttempt: (a: { index: number; seed: number; best: Candidate | null }) => io.stderr.write(`attempt ${a.index + 1}: seed ${a.seed} -> ${show(a.best)}\n`),
  };
  try {
    let winner: Candidate | null;
    let report: object;
    if (mode === 'best-of') {
      const n = parseNumber('n', values.n, positiveInteger, 'a positive integer');
      if (!n) throw new CliUsageError('best-of needs --n');
      const r = await bestOfN({ ...common, n });
      winner = r.winner;
      report = { mode, winner: r.winner && describe(r.winner), ranked: r.ranked.map(describe), unscored: r.unscored.map(describe) };
      if (values.out) await saveAll(values.out, r.ranked);
    } else {
      const threshold = parseNumber('threshold', values.threshold, Number.isFinite, 'a number');
      const maxAttempts = parseNumber('max-attempts', values['max-attempts'], positiveInteger, 'a positive integer');
      if (threshold === undefined || !maxAttempts) throw new CliUsageError('reroll needs --threshold and --max-attempts');
      const r = await rerollUntil({ ...common, threshold, maxAttempts });
      winner = r.best;
      report = { mode, passed: r.passed, best: r.best && describe(r.best), attempts: r.attempts.map((a) => ({ seed: a.seed, candidates: a.candidates.map(describe) })) };
      io.stderr.write(r.passed ? `passed after ${r.attempts.length} attempt(s)\n` : `no attempt reached ${threshold} in ${maxAttempts}; keeping the best\n`);
    }
    if (values.out && winner) await saveAll(values.out, [winner], 'winner');
    io.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    return winner ? 0 : 1;
  } finally {
    await Promise.all(clients.map((c) => c.close()));
    await scorer.close();
  }
}

const describe = (c: Candidate) => ({ seed: c.seed, prompt_id: c.promptId, node: c.image.nodeId, score: c.score, ...(c.image.file ? { file: c.image.file } : {}) });

async function saveAll(dir: string, candidates: Candidate[], name?: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  await Promise.all(candidates.map((c, i) => writeFile(join(dir, `${name ?? `rank-${String(i + 1).padStart(2, '0')}`}-seed-${c.seed}.png`), c.image.bytes)));
}
