import { UsageError } from '@clip-agiqa/core';
import { HEAD_KIND_TENSORS, LEVELS } from '@clip-agiqa/core/internal';

import {
  dropoutMask, linearInit, normaliseRows, normaliseRowsBackward, type Dropout, type HeadModel, type Step,
} from './head-model.js';
import type { MatmulBackend } from '../fitting/linalg.js';
import { twoLayerStep } from './mlp-layers.js';
import type { Rng } from '../rng.js';


/**
 * Parameters of the CLIP-AGIQA head: the six level-prompt embeddings and the MLP.
 *
 * CLIP-AGIQA learns 16 context tokens in front of each level word and runs them through the frozen text
 * tower. The prompts do not depend on the image, so all the head ever sees of them is six fixed vectors in
 * CLIP's embedding space; we learn those vectors directly, initialised from the text tower's encoding of
 * the prompts. Every set of context tokens yields such vectors; the converse holds only as far as the
 * text tower can reach a vector, so this is the same model class or a slightly larger one.
 */
export type MlpParams = {
  /** [6, D] */
  text: Float32Array;
  /** [H, 7D] */
  w1: Float32Array;
  b1: Float32Array;
  /** [H] (the [1, H] of Linear(H, 1)) */
  w2: Float32Array;
  b2: Float32Array;
};

export const PARAM_NAMES = ['text', 'w1', 'b1', 'w2', 'b2'] as const;
export type ParamName = (typeof PARAM_NAMES)[number];

/** PyTorch's default Linear initialisation: weights and biases uniform in ±1/sqrt(fan_in). */
export function initMlpParams(textInit: Float32Array, dim: number, rng: Rng, hidden = 512): MlpParams {
  if (textInit.length !== LEVELS * dim) throw new UsageError('SHAPE_MISMATCH', `text features must hold ${LEVELS}x${dim} values`);
  const inFeatures = (LEVELS + 1) * dim;
  return {
    text: Float32Array.from(textInit),
    w1: linearInit(hidden * inFeatures, inFeatures, rng), b1: linearInit(hidden, inFeatures, rng),
    w2: linearInit(hidden, hidden, rng), b2: linearInit(1, hidden, rng),
  };
}

/** Image embeddings [N, D] -> L2-normalised rows (the head's image input). */
export function normaliseEmbeddings(embeds: Float32Array, count: number, dim: number): Float32Array {
  return Float32Array.from(normaliseRows(embeds, count, dim).unit);
}

/**
 * MSE loss and its gradient for one batch. `images` holds normalised image embeddings [B, D]. With
 * `dropout`, both dropout layers (before each Linear) draw their masks from its generator.
 */
export async function lossAndGradients(p: MlpParams, images: Float32Array, targets: ArrayLike<number>, backend: MatmulBackend,
  dropout?: Dropout): Promise<Step> {
  const d = p.text.length / LEVELS;
  const h = p.b1.length;
  const b = targets.length;
  const width = (LEVELS + 1) * d;
  const { unit: text, norms } = normaliseRows(p.text, LEVELS, d);

  const m1 = dropoutMask(b * width, dropout);
  const features = new Float32Array(b * width);
  for (let i = 0; i < b; i++) {
    for (let k = 0; k < width; k++) {
      const v = k < d ? images[i * d + k]! : text[k - d]!;
      features[i * width + k] = m1 ? v * m1[i * width + k]! : v;
    }
  }
  const { loss, predictions, dz, grads } = await twoLayerStep(features, p, targets, backend, dropout);
  const dFeatures = await backend.gemm(dz, [b, h], p.w1, [h, width], false, false);
  // The text part of every sample's features is the same normalised text: sum its gradients.
  const dUnit = new Float64Array(LEVELS * d);
  for (let i = 0; i < b; i++) {
    for (let k = d; k < width; k++) dUnit[k - d]! += dFeatures[i * width + k]! * (m1 ? m1[i * width + k]! : 1);
  }
  const dText = normaliseRowsBackward(text, norms, dUnit, LEVELS, d);
  return { loss, predictions, grads: { text: dText, ...grads } };
}

const HEAD_TENSORS = HEAD_KIND_TENSORS['clip-agiqa-mlp'];

/** The paper's head as a trainable model, its level prompts starting at `textInit` [6, D]. */
export function mlpHeadModel(textInit: Float32Array, dim: number, hidden = 512): HeadModel {
  return {
    kind: 'clip-agiqa-mlp', dim, paramNames: PARAM_NAMES, tensorNames: HEAD_TENSORS,
    init: (rng) => initMlpParams(textInit, dim, rng, hidden),
    lossAndGradients: (p, images, targets, backend, dropout) => lossAndGradients(p as MlpParams, images, targets, backend, dropout),
    tensors: (p) => new Map([
      [HEAD_TENSORS.text_features, { shape: [LEVELS, dim], data: p.text! }],
      [HEAD_TENSORS.fc1_weight, { shape: [hidden, (LEVELS + 1) * dim], data: p.w1! }],
      [HEAD_TENSORS.fc1_bias, { shape: [hidden], data: p.b1! }],
      [HEAD_TENSORS.fc2_weight, { shape: [1, hidden], data: p.w2! }],
      [HEAD_TENSORS.fc2_bias, { shape: [1], data: p.b2! }],
    ]),
  };
}
