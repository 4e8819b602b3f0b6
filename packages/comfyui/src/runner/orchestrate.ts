import { decide, UsageError, type HeadDirection, type Policy } from '@clip-agiqa/core';

import type { ComfyImage, PromptRun, Workflow } from './client.js';
import { ComfyExecutionError, WorkflowError } from './errors.js';
import type { PromptRunner } from './pool.js';
import { drawSeed, type Seed } from './seeds.js';

/** The input of a node that plays the seed's role, e.g. KSampler.seed, or EmptyImage.color in a weight-free test. */
export interface SeedTarget {
  node: string;
  input: string;
}

/** The seed inputs of a workflow: every integer input named seed or noise_seed. */
export function findSeedTargets(workflow: Workflow): SeedTarget[] {
  return Object.entries(workflow).flatMap(([node, n]) => Object.entries(n.inputs)
    .filter(([name, value]) => (name === 'seed' || name === 'noise_seed') && typeof value === 'number').map(([input]) => ({ node, input })));
}

/** `"3"` (its seed or noise_seed input) or `"3.color"` -> a target, checked against the workflow. */
export function parseSeedTarget(spec: string | SeedTarget, workflow: Workflow): SeedTarget {
  const target = typeof spec === 'string' ? { node: spec.split('.')[0]!, input: spec.split('.')[1] ?? '' } : spec;
  const node = workflow[target.node];
  if (!node) throw new WorkflowError(`the workflow has no node ${target.node}`);
  const input = target.input || (['seed', 'noise_seed'].find((k) => k in node.inputs) ?? '');
  if (!(input in node.inputs)) throw new WorkflowError(`node ${target.node} (${node.class_type}) has no input ${target.input || 'seed/noise_seed'}`);
  return { node: target.node, input };
}

export function withSeed(workflow: Workflow, targets: SeedTarget[], seed: Seed): Workflow {
  const copy = structuredClone(workflow);
  for (const t of targets) copy[t.node]!.inputs[t.input] = seed;
  return copy;
}

/** Scores images (encoded bytes) with one head; NaN for an image that cannot be scored. */
export type ImageScorer = (images: Buffer[]) => Promise<number[]>;

export interface Candidate {
  seed: Seed;
  promptId: string;
  image: ComfyImage;
  score: number;
}

export interface GenerationOptions {
  runner: PromptRunner;
  workflow: Workflow;
  /** Seed inputs to vary ("3", "3.noise_seed", or targets); default: every seed/noise_seed input. */
  seedNodes?: (string | SeedTarget)[];
  score: ImageScorer;
  /** Only images from these nodes are candidates (default: every image the prompt produced). */
  outputNodes?: string[];
  /** Largest seed to draw, up to ComfyUI's 2^64 - 1 (a bigint above 2^53) (default 2^32 - 1; e.g. 0xFFFFFF for a colour input). */
  maxSeed?: Seed;
  /** Seeds to use instead of random ones, in order. */
  seeds?: Seed[];
  /** Whether a higher score is better, as the scoring head says (default true). */
  higherIsBetter?: boolean;
  /** After each attempt, finished or failed. */
  onAttempt?: (attempt: Attempt & { best: Candidate | null }) => void;
}

/** One run of the workflow: its candidates, or why it failed (a node error; its candidates are then empty). */
export interface Attempt {
  index: number;
  seed: Seed;
  candidates: Candidate[];
  error?: Error;
  /** How images lost with a dropped connection were recovered, if they were. */
  recovered?: PromptRun['recovered'];
}

/**
 * The seed inputs a generation will vary, checked against the workflow (and the output nodes named):
 * call it before anything expensive, it throws on a node or input the workflow does not have.
 */
export function checkGeneration(o: Pick<GenerationOptions, 'workflow' | 'seedNodes' | 'outputNodes'>): SeedTarget[] {
  for (const node of o.outputNodes ?? []) if (!o.workflow[node]) throw new WorkflowError(`the workflow has no output node ${node}`);
  const targets = o.seedNodes?.length ? o.seedNodes.map((s) => parseSeedTarget(s, o.workflow)) : findSeedTargets(o.workflow);
  if (targets.length === 0) throw new WorkflowError('the workflow has no seed input: name one with seedNodes (node or node.input)');
  return targets;
}

async function attempt(o: GenerationOptions, targets: SeedTarget[], index: number): Promise<Attempt> {
  const seed = o.seeds?.[index] ?? drawSeed(o.maxSeed ?? 2 ** 32 - 1);
  let result: Attempt;
  try {
    const run = await o.runner.run(withSeed(o.workflow, targets, seed));
    const images = run.images.filter((im) => !o.outputNodes || (im.nodeId !== null && o.outputNodes.includes(im.nodeId)));
    const scores = images.length ? await o.score(images.map((im) => im.bytes)) : [];
    result = { index, seed, candidates: images.map((image, k) => ({ seed, promptId: run.promptId, image, score: scores[k]! })), ...(run.recovered ? { recovered: run.recovered } : {}) };
  } catch (e) {
    result = { index, seed, candidates: [], error: e as Error };
  }
  o.onAttempt?.({ ...result, best: ranked(o, result.candidates)[0] ?? null });
  return result;
}

// Candidates carry one score: they are decided on as a one-head model whose direction the options give.
const SCORE = 'score';
const headOf = (o: Pick<GenerationOptions, 'higherIsBetter'>): HeadDirection => ({ name: SCORE, higherIsBetter: o.higherIsBetter ?? true });
const asDecidable = (c: Candidate) => ({ scores: { [SCORE]: c.score } });

/** The scored candidates that pass the policy, best first (ties keep generation order). */
function ranked(o: Pick<GenerationOptions, 'higherIsBetter'>, cs: Candidate[], policy: Policy = {}): Candidate[] {
  return decide(cs.map(asDecidable), policy, [headOf(o)]).passed.map((i) => cs[i]!);
}

/**
 * A failure that ends the whole run rather than one attempt: the workflow was refused (every attempt
 * would be), the user interrupted it, or ComfyUI is gone for good. A node error fails its attempt only.
 */
const endsRun = (e: Error) => !(e instanceof ComfyExecutionError) || e.interrupted;

export interface BestOfResult {
  winner: Candidate | null;
  ranked: Candidate[];
  unscored: Candidate[];
  /** Every attempt in order, failed ones with their error. */
  attempts: Attempt[];
}

/**
 * Runs n variations (fresh seeds) at once, scores every image, returns the winner and all, best first.
 * Failed attempts are reported beside the others; it throws only when every attempt failed.
 */
export async function bestOfN(o: GenerationOptions & { n: number }): Promise<BestOfResult> {
  if (!Number.isInteger(o.n) || o.n < 1) throw new UsageError('INVALID_ARGUMENT', `n must be a positive integer, got ${o.n}`);
  const targets = checkGeneration(o);
  const attempts = await Promise.all(Array.from({ length: o.n }, (_, i) => attempt(o, targets, i)));
  if (attempts.every((a) => a.error)) throw attempts[0]!.error!;
  return bestOfAttempts(attempts, o.higherIsBetter);
}

/** The winner and ranking of the attempts made (all of a run, or those finished when it was interrupted). */
export function bestOfAttempts(attempts: Attempt[], higherIsBetter = true): BestOfResult {
  const all = attempts.flatMap((a) => a.candidates);
  const best = ranked({ higherIsBetter }, all);
  return { winner: best[0] ?? null, ranked: best, unscored: all.filter((c) => Number.isNaN(c.score)), attempts };
}

export interface RerollResult {
  passed: boolean;
  best: Candidate | null;
  /** Every attempt made, failed ones with their error. */
  attempts: Attempt[];
  /** Why the run ended before passing or spending maxAttempts, with the attempts made so far kept. */
  stopped?: Error;
}

/**
 * Regenerates with fresh seeds until an image reaches the threshold (>= where higher is better, <= otherwise)
 * or maxAttempts runs are spent; returns the first passing image, or else the best of all attempts, and every
 * attempt. An attempt whose node fails counts and the next one runs; a failure of the whole run (refused
 * workflow, interruption, ComfyUI gone) stops it, keeping what was done (it throws only if nothing was).
 */
export async function rerollUntil(o: GenerationOptions & { threshold: number; maxAttempts: number }): Promise<RerollResult> {
  if (!Number.isInteger(o.maxAttempts) || o.maxAttempts < 1) throw new UsageError('INVALID_ARGUMENT', `maxAttempts must be a positive integer, got ${o.maxAttempts}`);
  const targets = checkGeneration(o);
  const attempts: Attempt[] = [];
  const policy = { threshold: o.threshold };
  const bestSoFar = () => ranked(o, attempts.flatMap((a) => a.candidates))[0] ?? null;
  for (let i = 0; i < o.maxAttempts; i++) {
    const a = await attempt(o, targets, i);
    if (a.error && endsRun(a.error)) {
      if (attempts.length === 0) throw a.error;
      return { passed: false, best: bestSoFar(), attempts, stopped: a.error };
    }
    attempts.push(a);
    const top = ranked(o, a.candidates, policy)[0];
    if (top) return { passed: true, best: top, attempts };
  }
  return { passed: false, best: bestSoFar(), attempts };
}
