import type { Head, HeadEntry } from '@clip-agiqa/core';
import { createHead, NORM_EPS } from '@clip-agiqa/core/internal';

import type { MatmulBackend } from '../fitting/linalg.js';
import type { Rng } from '../rng.js';

/** A head's trainable parameters, by name. */
export type Params = Record<string, Float32Array>;

export interface Dropout {
  rate: number;
  rng: Rng;
}

export interface Step {
  loss: number;
  predictions: Float64Array;
  grads: Params;
}

export type BundleTensors = Map<string, { shape: number[]; data: Float32Array }>;

/**
 * What the trainer needs of a head kind: its parameters, the MSE loss with gradients for a batch of
 * normalised inputs, and the tensors its bundle file holds. `headFromParams` turns the
 * parameters into the very head `@clip-agiqa/core` loads from a bundle.
 *
 * A quality head's input rows are image embeddings ([N, dim]); a head that reads prompts (`input:
 * image+prompt`) takes rows [image embedding || prompt text embedding] ([N, 2 dim]), and says how to
 * normalise them and how its bundle head scores them.
 */
export interface HeadModel {
  readonly kind: HeadEntry['kind'];
  readonly dim: number;
  /** What the head reads (default image). */
  readonly input?: 'image' | 'image+prompt';
  /** Values per input row (default dim). */
  readonly inputWidth?: number;
  /** Raw rows [count, inputWidth] -> the rows lossAndGradients reads (default: L2-normalised image embeddings). */
  prepareInputs?(rows: Float32Array, count: number): Float32Array;
  /** Scores raw rows as the bundle's head will (default: the image head `headFromParams` makes). */
  rowScorer?(p: Params, name: string, scoreRange: [number, number]): (rows: Float32Array, count: number) => number[];
  /** Parameter names, in checkpoint order. */
  readonly paramNames: readonly string[];
  /** The manifest's `tensors` entry: tensor role -> name in the safetensors file. */
  readonly tensorNames: Readonly<Record<string, string>>;
  /** The manifest's `categories`, for kinds that have them. */
  readonly categories?: readonly string[];
  init(rng: Rng): Params;
  lossAndGradients(p: Params, images: Float32Array, targets: ArrayLike<number>, backend: MatmulBackend, dropout?: Dropout): Promise<Step>;
  tensors(p: Params): BundleTensors;
}

export function cloneParams<P extends Params>(p: P): P {
  return Object.fromEntries(Object.entries(p).map(([k, v]) => [k, v.slice()])) as P;
}

/** The manifest entry of a trained head of this model (without its file's checksum). */
export function headEntry(model: HeadModel, name: string, scoreRange: [number, number], file = `heads/${name}.safetensors`): HeadEntry {
  return {
    name, kind: model.kind, ...(model.input === 'image+prompt' ? { input: model.input } : {}), file, tensors: { ...model.tensorNames },
    score_range: scoreRange, higher_is_better: true, trained: true,
    ...(model.categories ? { categories: [...model.categories] as [string, ...string[]] } : {}),
  };
}

/** The scoring head these parameters make: exactly what a bundle with them scores. */
export function headFromParams(model: HeadModel, p: Params, name = 'quality', scoreRange: [number, number] = [0, 5]): Head {
  return createHead(headEntry(model, name, scoreRange), model.tensors(p), model.dim, 'training');
}

/** Values per input row of a model: its inputWidth, else one image embedding. */
export const inputWidth = (model: HeadModel): number => model.inputWidth ?? model.dim;

/** Raw input rows -> what the model's loss reads: its own preparation, else L2-normalised image embeddings. */
export function prepareInputs(model: HeadModel, rows: Float32Array, count: number): Float32Array {
  return model.prepareInputs ? model.prepareInputs(rows, count) : Float32Array.from(normaliseRows(rows, count, model.dim).unit);
}

/** Scores raw input rows with these parameters exactly as a bundle holding them scores (quality or prompt head). */
export function rowScorer(model: HeadModel, p: Params, name = 'quality', scoreRange: [number, number] = [0, 5]): (rows: Float32Array, count: number) => number[] {
  if (model.rowScorer) return model.rowScorer(p, name, scoreRange);
  const head = headFromParams(model, p, name, scoreRange);
  return (rows, count) => head.score(rows, count);
}

/** Dropout masks (inverted dropout: kept values scaled by 1/keep), or null without dropout. */
export function dropoutMask(n: number, dropout: Dropout | undefined): Float32Array | null {
  if (!dropout) return null;
  const keep = 1 - dropout.rate;
  return Float32Array.from({ length: n }, () => (dropout.rng.next() < keep ? 1 / keep : 0));
}

/** Rows of x [rows, dim] scaled to unit length, with their norms (floored at NORM_EPS as torch does). */
export function normaliseRows(x: Float32Array, rows: number, dim: number): { unit: Float64Array; norms: Float64Array } {
  const unit = new Float64Array(rows * dim);
  const norms = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let s = 0;
    for (let k = 0; k < dim; k++) s += x[r * dim + k]! ** 2;
    norms[r] = Math.max(Math.sqrt(s), NORM_EPS);
    for (let k = 0; k < dim; k++) unit[r * dim + k] = x[r * dim + k]! / norms[r]!;
  }
  return { unit, norms };
}

/** Carries a gradient on normalised rows back to the raw rows: d x = (g - u (u . g)) / |x|. */
export function normaliseRowsBackward(unit: Float64Array, norms: Float64Array, gradUnit: ArrayLike<number>, rows: number, dim: number): Float32Array {
  const out = new Float32Array(rows * dim);
  for (let r = 0; r < rows; r++) {
    let dot = 0;
    for (let k = 0; k < dim; k++) dot += unit[r * dim + k]! * gradUnit[r * dim + k]!;
    for (let k = 0; k < dim; k++) out[r * dim + k] = (gradUnit[r * dim + k]! - unit[r * dim + k]! * dot) / norms[r]!;
  }
  return out;
}

/** PyTorch's default Linear initialisation: uniform in ±1/sqrt(fan_in). */
export function linearInit(n: number, fanIn: number, rng: Rng): Float32Array {
  return Float32Array.from({ length: n }, () => rng.uniform(-1, 1) / Math.sqrt(fanIn));
}
