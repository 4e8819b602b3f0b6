import { createPromptHead, HEAD_KIND_TENSORS } from '@clip-agiqa/core/internal';

import { headEntry, linearInit, normaliseRows, type Dropout, type HeadModel, type Params, type Step } from './head-model.js';
import type { MatmulBackend } from '../fitting/linalg.js';
import { twoLayerStep } from './mlp-layers.js';
import type { Rng } from '../rng.js';

/** Parameters of the alignment head (core's clip-agiqa-align): Linear(3D, H) -> ReLU -> Linear(H, 1). */
export type AlignParams = {
  /** [H, 3D]: columns for v, t, v * t */
  w1: Float32Array;
  b1: Float32Array;
  /** [H] (the [1, H] of Linear(H, 1)) */
  w2: Float32Array;
  b2: Float32Array;
};

export const ALIGN_PARAM_NAMES = ['w1', 'b1', 'w2', 'b2'] as const;

/** PyTorch's default Linear initialisation, layer by layer. */
export function initAlignParams(dim: number, rng: Rng, hidden = 512): AlignParams {
  const inFeatures = 3 * dim;
  return {
    w1: linearInit(hidden * inFeatures, inFeatures, rng), b1: linearInit(hidden, inFeatures, rng),
    w2: linearInit(hidden, hidden, rng), b2: linearInit(1, hidden, rng),
  };
}

/** Rows [image || prompt text] [count, 2D] -> each half L2-normalised (the rows the loss reads). */
export function normalisePairs(rows: Float32Array, count: number, dim: number): Float32Array {
  const { unit } = normaliseRows(rows, 2 * count, dim);
  return Float32Array.from(unit);
}

/** The head's input of normalised pairs [B, 2D]: x = [v || t || v * t], [B, 3D]. */
export function alignFeatures(pairs: Float32Array, count: number, dim: number): Float32Array {
  const x = new Float32Array(count * 3 * dim);
  for (let i = 0; i < count; i++) {
    for (let k = 0; k < dim; k++) {
      const v = pairs[i * 2 * dim + k]!;
      const t = pairs[i * 2 * dim + dim + k]!;
      x[i * 3 * dim + k] = v;
      x[i * 3 * dim + dim + k] = t;
      x[i * 3 * dim + 2 * dim + k] = v * t;
    }
  }
  return x;
}

/**
 * MSE loss and its gradients for one batch of normalised pairs [B, 2D]. With `dropout`, the hidden layer's
 * activations are dropped before the last Linear (inverted dropout), with masks from its generator.
 */
export async function alignLossAndGradients(p: AlignParams, pairs: Float32Array, targets: ArrayLike<number>, backend: MatmulBackend,
  dropout?: Dropout): Promise<Step> {
  const d = p.w1.length / p.b1.length / 3;
  const { loss, predictions, grads } = await twoLayerStep(alignFeatures(pairs, targets.length, d), p, targets, backend, dropout);
  return { loss, predictions, grads };
}

const TENSORS = HEAD_KIND_TENSORS['clip-agiqa-align'];

function alignTensors(p: Params, dim: number) {
  const hidden = p.b1!.length;
  return new Map([
    [TENSORS.fc1_weight, { shape: [hidden, 3 * dim], data: p.w1! }],
    [TENSORS.fc1_bias, { shape: [hidden], data: p.b1! }],
    [TENSORS.fc2_weight, { shape: [1, hidden], data: p.w2! }],
    [TENSORS.fc2_bias, { shape: [1], data: p.b2! }],
  ]);
}

/**
 * The trained text-image alignment head (core's clip-agiqa-align) as a trainable model. Its input rows
 * are [image embedding || prompt text embedding], both as the towers give them (`pairEmbeddings`).
 */
export function alignHeadModel(dim: number, hidden = 512): HeadModel {
  const model: HeadModel = {
    kind: 'clip-agiqa-align', dim, input: 'image+prompt', inputWidth: 2 * dim, paramNames: ALIGN_PARAM_NAMES, tensorNames: TENSORS,
    init: (rng) => initAlignParams(dim, rng, hidden),
    prepareInputs: (rows, count) => normalisePairs(rows, count, dim),
    lossAndGradients: (p, pairs, targets, backend, dropout) => alignLossAndGradients(p as AlignParams, pairs, targets, backend, dropout),
    tensors: (p) => alignTensors(p, dim),
    rowScorer(p, name, scoreRange) {
      const head = createPromptHead(headEntry(model, name, scoreRange), alignTensors(p, dim), dim, 'training');
      return (rows, count) => Array.from({ length: count }, (_, i) => {
        const row = rows.subarray(i * 2 * dim, (i + 1) * 2 * dim);
        return head.scorePair(row.subarray(0, dim), row.subarray(dim));
      });
    },
  };
  return model;
}
