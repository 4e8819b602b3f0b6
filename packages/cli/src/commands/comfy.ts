import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

import { comfyGraphPrompt } from '@clip-agiqa/core';
import {
  bestOfAttempts, bestOfN, checkGeneration, ComfyClient, ComfyConnectionError, ComfyPool, rerollUntil, toJson, WorkflowError, type Attempt, type Candidate, type PromptRunner, type Workflow,
} from '@clip-agiqa/comfyui';

import { CliUsageError, EXIT_NONE_PASSED, parseNumber, positiveInteger, type CliIO } from '../io.js';
import { checkScorerFlags, SCORER_FLAGS, SCORER_FLAGS_HELP, scorerFromFlags } from '../scorer-flags.js';
import { installNodes } from './comfy-install.js';
import { checkOutDir, parseHosts, parseMaxSeed } from './comfy-options.js';
import { EXIT_INTERRUPTED, watchInterrupt } from './interrupt.js';

export const COMFY_USAGE = `Usage: clip-agiqa comfy best-of --workflow FILE --n N [options]
       clip-agiqa comfy reroll --workflow FILE --threshold T --max-attempts N [options]
       clip-agiqa comfy install-nodes --comfyui DIR [--link] [--force]

install-nodes puts the CLIP-AGIQA node pack into DIR/custom_nodes/comfyui-clip-agiqa (a copy, or a
symlink with --link; --force replaces an earlier install). Restart ComfyUI afterwards.

Runs an API-format ComfyUI workflow with fresh seeds and scores its images with CLIP-AGIQA:
best-of queues N variations at once and keeps the best; reroll regenerates until an image reaches
the threshold (or attempts run out, then keeps the best). Prints every attempt and its score.

Options:
  --host URL[,URL...]      ComfyUI server(s) (default http://127.0.0.1:8188); several: least-busy dispatch over
                           those that answer (the others join when they do; a server that dies hands its
                           prompts to the others within seconds)
  --seed-node ID[.IN]      input that plays the seed (repeatable; default: every seed/noise_seed input)
  --max-seed N             largest seed drawn, up to ComfyUI's 18446744073709551615 (default 4294967295;
                           e.g. 16777215 for a colour input)
  --output-node ID         only images of this node are candidates (repeatable)
  --head NAME              the head that scores (default: the model's first; clipscore: the images against the prompt)
  --prompt TEXT            the prompt the workflow generates from, for the prompt heads (default: the text of the
                           CLIPTextEncode feeding the first sampler's positive input; "" for none)
${SCORER_FLAGS_HELP}
  --out DIR                write the winning image (and, for best-of, all ranked) there
  --reconnect-timeout S    keep reconnecting to a ComfyUI that went away for S seconds (default 120)
  --stall-timeout S        give up on a ComfyUI that sends nothing for S seconds while running (default 300; 0: never)
  --fail-if-none-pass      reroll: exit 3 when no attempt reached the threshold
The report (JSON on stdout) lists every attempt, failed ones with their error, even when the run stops early.
Ctrl-C takes the run's prompts off ComfyUI (pending ones deleted, a running one interrupted if it is the
run's own), reports and saves the attempts finished so far and exits 130; a second Ctrl-C quits at once.
Exit status: 0 done, 1 an attempt or the run failed (what finished is still reported) or the workflow is
unusable, 2 usage, 3 see --fail-if-none-pass, 130 interrupted.`;

/** Reads and checks the workflow file: an API-format workflow (node id -> {class_type, inputs}). */
async function readWorkflow(file: string): Promise<Workflow> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new WorkflowError(`cannot read the workflow ${file}: ${(e as Error).message}`);
  }
  let workflow: unknown;
  try {
    workflow = JSON.parse(text);
  } catch (e) {
    throw new WorkflowError(`the workflow ${file} is not JSON: ${(e as Error).message}`);
  }
  if (typeof workflow !== 'object' || workflow === null || Array.isArray(workflow)) throw new WorkflowError(`the workflow ${file} is not a JSON object`);
  if ('nodes' in workflow && 'links' in workflow) {
    throw new WorkflowError(`${file} is a UI-format workflow; export it with "Export (API)" (or "Save (API Format)") in ComfyUI`);
  }
  for (const [id, node] of Object.entries(workflow)) {
    const n = node as { class_type?: unknown; inputs?: unknown } | null;
    if (typeof n?.class_type !== 'string' || typeof n.inputs !== 'object' || n.inputs === null) {
      throw new WorkflowError(`node ${id} of ${file} has no class_type and inputs: is it an API-format workflow?`);
    }
  }
  return workflow as Workflow;
}

export async function comfyCommand(argv: string[], io: CliIO): Promise<number> {
  const [mode, ...rest] = argv;
  if (mode === '--help' || mode === '-h' || mode === undefined) {
    io.stdout.write(`${COMFY_USAGE}\n`);
    return mode === undefined ? 2 : 0;
  }
  if (mode === 'install-nodes') return installNodes(rest, io);
  if (mode !== 'best-of' && mode !== 'reroll') throw new CliUsageError(`comfy: unknown mode ${mode} (best-of, reroll or install-nodes)`);
  const { values } = parseArgs({ args: rest, strict: true, options: {
    host: { type: 'string', default: 'http://127.0.0.1:8188' }, workflow: { type: 'string' }, n: { type: 'string' }, threshold: { type: 'string' },
    'max-attempts': { type: 'string' }, 'seed-node': { type: 'string', multiple: true }, 'max-seed': { type: 'string' },
    'output-node': { type: 'string', multiple: true }, ...SCORER_FLAGS, head: { type: 'string' }, prompt: { type: 'string' }, out: { type: 'string' },
    'reconnect-timeout': { type: 'string' }, 'stall-timeout': { type: 'string' }, 'fail-if-none-pass': { type: 'boolean', default: false },
  } });
  // Everything the command line and the workflow can get wrong is checked before ComfyUI is contacted or the model loaded.
  if (!values.workflow) throw new CliUsageError('comfy needs --workflow (an API-format workflow JSON)');
  const hosts = parseHosts(values.host);
  const maxSeed = parseMaxSeed(values['max-seed']);
  const reconnectS = parseNumber('reconnect-timeout', values['reconnect-timeout'], (x) => x > 0, 'a positive number of seconds');
  const stallS = parseNumber('stall-timeout', values['stall-timeout'], (x) => x >= 0, 'a number of seconds (0: never)');
  const n = mode === 'best-of' ? parseNumber('n', values.n, positiveInteger, 'a positive integer') : undefined;
  const threshold = mode === 'reroll' ? parseNumber('threshold', values.threshold, Number.isFinite, 'a number') : undefined;
  const maxAttempts = mode === 'reroll' ? parseNumber('max-attempts', values['max-attempts'], positiveInteger, 'a positive integer') : undefined;
  if (mode === 'best-of' && !n) throw new CliUsageError('best-of needs --n');
  if (mode === 'reroll' && (threshold === undefined || !maxAttempts)) throw new CliUsageError('reroll needs --threshold and --max-attempts');
  checkScorerFlags(values);
  const workflow = await readWorkflow(values.workflow);
  const generation = { workflow, ...(values['seed-node'] ? { seedNodes: values['seed-node'] } : {}), ...(values['output-node'] ? { outputNodes: values['output-node'] } : {}) };
  checkGeneration(generation);
  const prompt = values.prompt ?? comfyGraphPrompt(workflow);
  await checkOutDir(values.out);

  const clients = hosts.map((h) => new ComfyClient(h, {
    ...(reconnectS ? { reconnect: { timeoutMs: reconnectS * 1000 } } : {}), ...(stallS !== undefined ? { stallTimeoutMs: stallS * 1000 } : {}),
  }));
  const pool = clients.length > 1 ? new ComfyPool(clients, { onHostChange: (c, up, reason) => io.stderr.write(up
    ? `ComfyUI at ${c.baseUrl} answers again: it takes prompts\n`
    : `ComfyUI at ${c.baseUrl} does not answer (${reason}): the others run the prompts; it is probed and joins when it answers\n`) }) : null;
  const interrupt = watchInterrupt();
  try {
    try {
      if (pool) await pool.start();
      else await clients[0]!.queue();
    } catch (e) {
      if (!(e instanceof ComfyConnectionError)) throw e;
      throw new ComfyConnectionError(`${e.message}: is ComfyUI running there? Start it, or give its address with --host`);
    }
    const runner: PromptRunner = pool ?? clients[0]!;
    const scorer = await scorerFromFlags(values, io);
    try {
      const headInfo = scorer.model.heads.find((h) => h.name === (values.head ?? scorer.model.heads[0]!.name));
      if (!headInfo) throw new CliUsageError(`--head: the model has no head ${values.head}`);
      const head = headInfo.name;
      // Only a prompt head reads the prompt (the others would pay a text-tower run for nothing); without one, every
      // image fails with PROMPT_REQUIRED rather than being ranked on nothing.
      const scoring = headInfo.needsPrompt ? { ...(prompt === undefined ? {} : { prompt }), requireHead: head } : {};
      if (headInfo.needsPrompt) {
        io.stderr.write(prompt?.trim() ? `scoring against the prompt ${JSON.stringify(prompt.length > 120 ? `${prompt.slice(0, 119)}…` : prompt)}\n`
          : `${head} needs a prompt and the workflow has none (no CLIPTextEncode feeds a sampler's positive input): give one with --prompt\n`);
      }
      const score = async (images: Buffer[]) => (await scorer.score(images, scoring)).map((o) => ('scores' in o ? o.scores[head]! : NaN));
      const finished: Attempt[] = [];
      const planned = n ?? maxAttempts!;
      const waiting = setInterval(() => io.stderr.write(`waiting for ComfyUI (${hosts.join(', ')}) to run the prompts: ${finished.length} of ${mode === 'best-of' ? planned : `at most ${planned}`} attempt(s) done\n`), 15_000);
      waiting.unref();
      io.stderr.write(`${mode === 'best-of' ? `queueing ${planned} variation(s)` : `rerolling up to ${planned} time(s)`} on ComfyUI at ${hosts.join(', ')}; `
        + 'Ctrl-C stops and takes them off the queue\n');
      const common = {
        ...generation, runner, score, higherIsBetter: headInfo.higherIsBetter, ...(maxSeed ? { maxSeed } : {}),
        onAttempt: (a: Attempt & { best: Candidate | null }) => {
          finished.push(a);
          io.stderr.write(`attempt ${a.index + 1}: seed ${a.seed} -> ${showAttempt(a)}\n`);
        },
      };
      const run = mode === 'best-of'
        ? async () => {
          const r = await bestOfN({ ...common, n: n! });
          await reportBestOf(r.attempts, headInfo.higherIsBetter, values.out, io);
          const failed = r.attempts.filter((a) => a.error);
          if (failed.length) io.stderr.write(`${failed.length} of ${n} attempts failed; the others are ranked above\n`);
          return r.winner && failed.length === 0 ? 0 : 1;
        }
        : async () => {
          const r = await rerollUntil({ ...common, threshold: threshold!, maxAttempts: maxAttempts! });
          await reportReroll(r.passed, r.best, r.attempts, r.stopped, values.out, io);
          if (r.stopped) {
            io.stderr.write(`clip-agiqa: the run stopped after ${r.attempts.length} attempt(s): ${r.stopped.message}\n`);
            return 1;
          }
          io.stderr.write(r.passed ? `passed after ${r.attempts.length} attempt(s)\n` : `no attempt reached ${threshold} in ${maxAttempts}; keeping the best\n`);
          if (!r.passed && values['fail-if-none-pass']) return EXIT_NONE_PASSED;
          return r.best && r.attempts.every((a) => !a.error) ? 0 : 1;
        };
      try {
        const outcome = await Promise.race([run(), interrupt.interrupted.then(() => 'interrupted' as const)]);
        if (outcome !== 'interrupted') return outcome;
      } finally {
        clearInterval(waiting);
      }
      io.stderr.write('interrupted: taking this run\'s prompts off ComfyUI (Ctrl-C again to quit at once)\n');
      pool?.close();
      const cleared = await Promise.allSettled(clients.map((c) => c.cancelOwn()));
      cleared.forEach((c, i) => io.stderr.write(c.status === 'fulfilled'
        ? `ComfyUI at ${clients[i]!.baseUrl}: ${c.value.deleted.length} pending prompt(s) deleted, ${c.value.interrupted.length} running interrupted\n`
        : `ComfyUI at ${clients[i]!.baseUrl}: could not take the prompts off (${(c.reason as Error).message})\n`));
      const done = finished.filter((a) => !a.error || !/interrupted/.test(a.error.message)).sort((x, y) => x.index - y.index);
      if (mode === 'best-of') await reportBestOf(done, headInfo.higherIsBetter, values.out, io);
      else await reportReroll(false, bestOfAttempts(done, headInfo.higherIsBetter).winner, done, new Error('interrupted (Ctrl-C)'), values.out, io);
      io.stderr.write(`interrupted after ${done.length} finished attempt(s): reported above${values.out ? ` and saved in ${values.out}` : ''}\n`);
      return EXIT_INTERRUPTED;
    } finally {
      await scorer.close();
    }
  } finally {
    interrupt.dispose();
    pool?.close();
    await Promise.all(clients.map((c) => c.close()));
  }
}

async function reportBestOf(attempts: Attempt[], higherIsBetter: boolean, out: string | undefined, io: CliIO): Promise<void> {
  const r = bestOfAttempts(attempts, higherIsBetter);
  const failed = attempts.filter((a) => a.error);
  io.stdout.write(`${toJson({ mode: 'best-of', winner: r.winner && describe(r.winner), ranked: r.ranked.map(describe), unscored: r.unscored.map(describe), failed: failed.map(describeFailure) }, 2)}\n`);
  if (out) await saveAll(out, r.ranked, r.winner);
}

async function reportReroll(passed: boolean, best: Candidate | null, attempts: Attempt[], stopped: Error | undefined, out: string | undefined, io: CliIO): Promise<void> {
  io.stdout.write(`${toJson({ mode: 'reroll', passed, best: best && describe(best),
    attempts: attempts.map((a) => ({ seed: a.seed, candidates: a.candidates.map(describe), ...(a.error ? { error: errorOf(a.error) } : {}) })),
    ...(stopped ? { stopped: errorOf(stopped) } : {}) }, 2)}\n`);
  if (out) await saveAll(out, [], best);
}

function showAttempt(a: Attempt & { best: Candidate | null }): string {
  if (a.error) return `failed: ${a.error.message}`;
  const recovered = a.recovered ? ` [images recovered after a dropped connection by ${a.recovered.method === 'rerun' ? 're-running node(s)' : 'reading the history of node(s)'} ${a.recovered.nodes.join(', ')}]` : '';
  return `${a.best ? `${a.best.score.toFixed(3)} (prompt ${a.best.promptId})` : 'no image scored'}${recovered}`;
}

const errorOf = (e: Error) => ({ name: e.name, message: e.message, ...('code' in e ? { code: (e as { code: unknown }).code } : {}) });
const describe = (c: Candidate) => ({ seed: c.seed, prompt_id: c.promptId, node: c.image.nodeId, score: c.score, ...(c.image.file ? { file: c.image.file } : {}) });
const describeFailure = (a: Attempt) => ({ seed: a.seed, error: errorOf(a.error!) });

async function saveAll(dir: string, ranked: Candidate[], winner: Candidate | null): Promise<void> {
  await mkdir(dir, { recursive: true });
  await Promise.all(ranked.map((c, i) => writeFile(join(dir, `rank-${String(i + 1).padStart(2, '0')}-seed-${c.seed}.png`), c.image.bytes)));
  if (winner) await writeFile(join(dir, `winner-seed-${winner.seed}.png`), winner.image.bytes);
}
