import { ClipAgiqaError } from '@clip-agiqa/core';

import type { Dataset } from '../datasets/dataset.js';
import type { Embeddings } from '../embed/cache.js';
import type { MatmulBackend } from '../fitting/linalg.js';
import { evaluate, mean, pearson, spearman, type Metrics } from './metrics.js';
import { cloneParams, rowScorer, type HeadModel, type Params } from '../heads/head-model.js';
import { selectionMetrics, type SelectionMetrics } from './selection.js';
import { groupSplit, paperSplit, randomSplit, type SplitIndices } from './splits.js';
import { trainHead, type Recipe } from '../fitting/trainer.js';

export interface ProtocolOptions {
  dataset: Dataset;
  target: string;
  embeddings: Embeddings;
  /** The head to train, e.g. `mlpHeadModel(...)` (the paper's) or `anchoredHeadModel(...)`. */
  model: HeadModel;
  backend: MatmulBackend;
  recipe?: Partial<Recipe>;
  onLog?: (line: string) => void;
}

export interface Evaluation {
  metrics: Metrics;
  selection: SelectionMetrics;
  /** Each test image's prediction, as the head scores it. */
  predictions: { id: string; mos: number; prediction: number }[];
}

/** SRCC and PLCC of one part of a split after one epoch. */
export interface Correlations {
  srcc: number;
  plcc: number;
}

/** One epoch's learning curve point; `train` is measured on at most TRAIN_CURVE_ROWS evenly spaced training images. */
export interface EpochRecord {
  epoch: number;
  loss: number;
  train: Correlations;
  val?: Correlations;
  test: Correlations;
}

/** Training images the per-epoch training curve is measured on (a bound on its cost). */
export const TRAIN_CURVE_ROWS = 500;

export interface RunResult {
  split: 'image' | 'prompt';
  seed: number;
  sizes: { train: number; val: number; test: number };
  /** Test metrics after the last epoch. */
  last: Evaluation;
  /** The epoch with the best test SRCC: what the paper reports, selected on test. */
  bestOnTest: { epoch: number; metrics: Metrics };
  /** With a validation set: the epoch with the best validation SRCC, and its test evaluation. */
  selected?: { epoch: number; val: Metrics; test: Evaluation };
  /** Learning curves, one record per epoch (epochs from 1). */
  history: EpochRecord[];
  seconds: number;
}

/** Rows `idx` of a row-major [N, dim] matrix. */
export function pickRows(a: Float32Array, idx: readonly number[], dim: number): Float32Array {
  const out = new Float32Array(idx.length * dim);
  idx.forEach((i, k) => out.set(a.subarray(i * dim, (i + 1) * dim), k * dim));
  return out;
}

/** A dataset too small for the evaluation protocol asked for. */
export class ProtocolError extends ClipAgiqaError<'DATASET_TOO_SMALL'> {
  constructor(message: string) {
    super('DATASET_TOO_SMALL', message);
  }
}

/**
 * Cached random-resized-crop views per image under the paper protocol by default. The official code
 * draws a fresh RandomResizedCrop(0.08-1) + flip every epoch; with cached embeddings, epoch e trains on
 * view e mod PAPER_VIEWS, so over 100 epochs each view is seen 10 times. Each view costs one more
 * image-tower pass per image, once (the cache keeps it).
 */
export const PAPER_VIEWS = 10;

async function run(o: ProtocolOptions, split: SplitIndices, kind: 'image' | 'prompt', seed: number): Promise<{ result: RunResult; params: Params }> {
  const { dim } = o.embeddings;
  const tooSmall = (['train', 'test', 'val'] as const).filter((part) => (part !== 'val' || split.val.length > 0 || kind === 'prompt') && split[part].length < 2);
  if (tooSmall.length) {
    throw new ProtocolError(`${o.dataset.name}: a ${kind}-level split (seed ${seed}) leaves fewer than 2 images in ${tooSmall.join(', ')} ` +
      `(train ${split.train.length}, validation ${split.val.length}, test ${split.test.length}): the dataset is too small for this protocol`);
  }
  const mos = o.dataset.samples.map((s) => s.targets[o.target]!);
  const groups = o.dataset.samples.map((s) => s.group ?? s.id);
  const sub = (idx: number[]) => ({ embeds: pickRows(o.embeddings.test, idx, dim), targets: Float64Array.from(idx.map((i) => mos[i]!)) });
  const train = { ...sub(split.train), views: o.embeddings.train.map((v) => pickRows(v, split.train, dim)) };
  const test = sub(split.test);
  const val = split.val.length ? sub(split.val) : null;
  const started = performance.now();
  let best = { epoch: -1, metrics: undefined as Metrics | undefined };
  let selected: { epoch: number; val: Metrics; params: Params } | undefined;
  const curveCount = Math.min(TRAIN_CURVE_ROWS, split.train.length);
  const curveRows = Array.from({ length: curveCount }, (_, k) => split.train[Math.floor((k * split.train.length) / curveCount)]!);
  const trainCurve = sub(curveRows);
  const correlations = (pred: readonly number[], targets: Float64Array): Correlations => ({ srcc: spearman(pred, [...targets]), plcc: pearson(pred, [...targets]) });
  const history: EpochRecord[] = [];
  const params = await trainHead({
    model: o.model, train, seed, backend: o.backend, recipe: o.recipe,
    onEpoch: (epoch, s) => {
      const head = { score: rowScorer(o.model, s.params) };
      const m = evaluate(head.score(test.embeds, split.test.length), [...test.targets]);
      if (!best.metrics || m.srcc > best.metrics.srcc) best = { epoch, metrics: m };
      const trainPred = head.score(trainCurve.embeds, curveCount);
      const record: EpochRecord = { epoch: epoch + 1, loss: s.trainLoss, train: correlations(trainPred, trainCurve.targets), test: { srcc: m.srcc, plcc: m.plcc } };
      if (val) {
        const v = evaluate(head.score(val.embeds, split.val.length), [...val.targets]);
        record.val = { srcc: v.srcc, plcc: v.plcc };
        if (!selected || v.srcc > selected.val.srcc) selected = { epoch, val: v, params: cloneParams(s.params) };
      }
      history.push(record);
      o.onLog?.(`${kind} split seed ${seed} epoch ${epoch + 1}: loss ${s.trainLoss.toFixed(4)} lr ${s.lr.toExponential(2)} test SRCC ${m.srcc.toFixed(4)} PLCC ${m.plcc.toFixed(4)}`);
    },
  });
  const evaluateOn = (p: Params): Evaluation => {
    const pred = rowScorer(o.model, p)(test.embeds, split.test.length);
    return {
      metrics: evaluate(pred, [...test.targets]),
      selection: selectionMetrics(pred, [...test.targets], split.test.map((i) => groups[i]!), seed),
      predictions: split.test.map((i, k) => ({ id: o.dataset.samples[i]!.id, mos: mos[i]!, prediction: pred[k]! })),
    };
  };
  const result: RunResult = {
    split: kind, seed, sizes: { train: split.train.length, val: split.val.length, test: split.test.length },
    last: evaluateOn(params),
    bestOnTest: { epoch: best.epoch + 1, metrics: best.metrics! },
    ...(selected ? { selected: { epoch: selected.epoch + 1, val: selected.val, test: evaluateOn(selected.params) } } : {}),
    history,
    seconds: (performance.now() - started) / 1000,
  };
  return { result, params };
}

/** The paper's protocol: the official code's image-level 80/20 split (`paperSplit`), no validation set. */
export async function paperProtocol(o: ProtocolOptions): Promise<{ run: RunResult; params: Params }> {
  const { result, params } = await run(o, paperSplit(o.dataset.samples.length), 'image', 42);
  return { run: result, params };
}

export interface Summary {
  runs: number;
  mean: Record<string, number>;
  std: Record<string, number>;
}

function summarise(runs: RunResult[]): Summary {
  const keys = ['srcc', 'plcc', 'plcc_logistic', 'krcc', 'rmse'] as const;
  const values = (k: (typeof keys)[number]) => runs.map((r) => r.selected!.test.metrics[k]);
  const std = (xs: number[]) => Math.sqrt(xs.reduce((a, b) => a + (b - mean(xs)) ** 2, 0) / Math.max(1, xs.length - 1));
  return { runs: runs.length, mean: Object.fromEntries(keys.map((k) => [k, mean(values(k))])), std: Object.fromEntries(keys.map((k) => [k, std(values(k))])) };
}

/**
 * The rigorous protocol: `splits` random 80/20 splits, each with 10% of its training part held out for
 * choosing the epoch, image-level and prompt-disjoint; test metrics at the chosen epoch, mean ± std.
 */
export async function rigorousProtocol(o: ProtocolOptions, splits = 10): Promise<{ image: RunResult[]; prompt: RunResult[]; summary: { image: Summary; prompt?: Summary } }> {
  const n = o.dataset.samples.length;
  const groups = o.dataset.samples.map((s) => s.group);
  const hasGroups = groups.every((g) => g !== undefined) && new Set(groups).size > 1;
  const image: RunResult[] = [];
  const prompt: RunResult[] = [];
  for (let seed = 0; seed < splits; seed++) {
    image.push((await run(o, randomSplit(n, seed, 0.2, 0.1), 'image', seed)).result);
    if (hasGroups) prompt.push((await run(o, groupSplit(groups as string[], seed, 0.2, 0.1), 'prompt', seed)).result);
  }
  return { image, prompt, summary: { image: summarise(image), ...(prompt.length ? { prompt: summarise(prompt) } : {}) } };
}
