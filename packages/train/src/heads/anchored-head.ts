import { UsageError } from '@clip-agiqa/core';
import { HEAD_KIND_TENSORS, LEVELS } from '@clip-agiqa/core/internal';

import {
  dropoutMask, linearInit, normaliseRows, normaliseRowsBackward, type Dropout, type HeadModel, type Params, type Step,
} from './head-model.js';
import type { MatmulBackend } from '../fitting/linalg.js';

const ANCHORED_TENSORS = HEAD_KIND_TENSORS['clip-agiqa-anchored'];

const ANCHORED_PARAMS = ['levels', 'logitScale', 'weights', 'bias', 'r1w', 'r1b', 'r2w', 'r2b'] as const;

export interface AnchoredOptions {
  dim: number;
  categories: readonly string[];
  /** Initial level features [C, 6, D]: the text tower's encoding of each category's level prompts. */
  levelInit: Float32Array;
  /** The MOS each level word stands for, e.g. evenly spaced over the dataset's scale. */
  levelValues: readonly number[];
  /** Width of the residual MLP (default 64). */
  rank?: number;
  /** Initial cosine-similarity scale (default 100, CLIP's trained logit scale). */
  logitScale?: number;
}

/** Six level values evenly spaced over [low, high]: terrible = low, perfect = high. */
export function evenLevelValues([low, high]: readonly [number, number]): number[] {
  return Array.from({ length: LEVELS }, (_, l) => low + ((high - low) * l) / (LEVELS - 1));
}

/**
 * The anchored head (beyond the paper; see `@clip-agiqa/core`'s clip-agiqa-anchored for the forward
 * pass) as a trainable model. At initialisation it is CLIP's zero-shot reading of the level prompts
 * (the residual's output layer starts at zero, the categories are averaged), so training starts
 * from a meaningful score and moves the level features, the similarity scale, the mixing and the
 * residual from there. Dropout, when the recipe has it, acts on the residual's hidden layer.
 */
export function anchoredHeadModel(o: AnchoredOptions): HeadModel {
  const d = o.dim;
  const c = o.categories.length;
  const rank = o.rank ?? 64;
  // Rounded to float32 as the bundle stores them, so training and scoring read the same values.
  const values = Float64Array.from(Float32Array.from(o.levelValues));
  if (c === 0) throw new UsageError('INVALID_ARGUMENT', 'the anchored head needs at least one category');
  if (o.levelInit.length !== c * LEVELS * d) throw new UsageError('SHAPE_MISMATCH', `level features must hold ${c}x${LEVELS}x${d} values`);
  if (values.length !== LEVELS) throw new UsageError('SHAPE_MISMATCH', `level values must hold ${LEVELS} numbers`);
  const rows = c * LEVELS;

  async function lossAndGradients(p: Params, images: Float32Array, targets: ArrayLike<number>, backend: MatmulBackend, dropout?: Dropout): Promise<Step> {
    const b = targets.length;
    const { unit, norms } = normaliseRows(p.levels!, rows, d);
    const anchors = Float32Array.from(unit);
    const scale = Math.exp(p.logitScale![0]!);
    const cos = await backend.gemm(images, [b, d], anchors, [rows, d], false, true);
    const probs = new Float64Array(b * rows);
    const expected = new Float64Array(b * c);
    const pre = await backend.gemm(images, [b, d], p.r1w!, [rank, d], false, true);
    const mask = dropoutMask(b * rank, dropout);
    const hidden = new Float32Array(b * rank);
    const predictions = new Float64Array(b);
    let loss = 0;
    for (let i = 0; i < b; i++) {
      let y = p.bias![0]! + p.r2b![0]!;
      for (let k = 0; k < c; k++) {
        const base = i * rows + k * LEVELS;
        let max = -Infinity;
        for (let l = 0; l < LEVELS; l++) max = Math.max(max, scale * cos[base + l]!);
        let total = 0;
        for (let l = 0; l < LEVELS; l++) total += probs[base + l] = Math.exp(scale * cos[base + l]! - max);
        let e = 0;
        for (let l = 0; l < LEVELS; l++) e += (probs[base + l]! /= total) * values[l]!;
        expected[i * c + k] = e;
        y += p.weights![k]! * e;
      }
      for (let j = 0; j < rank; j++) {
        const v = pre[i * rank + j]! + p.r1b![j]!;
        pre[i * rank + j] = v;
        const a = v > 0 ? v * (mask ? mask[i * rank + j]! : 1) : 0;
        hidden[i * rank + j] = a;
        y += p.r2w![j]! * a;
      }
      predictions[i] = y;
      loss += (y - targets[i]!) ** 2 / b;
    }

    const dWeights = new Float32Array(c);
    const dCos = new Float32Array(b * rows);
    const dR2w = new Float32Array(rank);
    const dR1b = new Float32Array(rank);
    const dPre = new Float32Array(b * rank);
    let dBias = 0;
    let dLogScale = 0;
    for (let i = 0; i < b; i++) {
      const dy = (2 * (predictions[i]! - targets[i]!)) / b;
      dBias += dy;
      for (let k = 0; k < c; k++) {
        const e = expected[i * c + k]!;
        dWeights[k]! += dy * e;
        const dE = dy * p.weights![k]!;
        for (let l = 0; l < LEVELS; l++) {
          const at = i * rows + k * LEVELS + l;
          // softmax: d logit_l = p_l (d p_l - sum_m p_m d p_m) with d p_l = dE * v_l
          const dLogit = probs[at]! * dE * (values[l]! - e);
          dLogScale += dLogit * scale * cos[at]!;
          dCos[at] = dLogit * scale;
        }
      }
      for (let j = 0; j < rank; j++) {
        dR2w[j]! += dy * hidden[i * rank + j]!;
        const g = pre[i * rank + j]! > 0 ? dy * p.r2w![j]! * (mask ? mask[i * rank + j]! : 1) : 0;
        dPre[i * rank + j] = g;
        dR1b[j]! += g;
      }
    }
    const dAnchors = await backend.gemm(dCos, [b, rows], images, [b, d], true, false);
    const dR1w = await backend.gemm(dPre, [b, rank], images, [b, d], true, false);
    return {
      loss, predictions,
      grads: {
        levels: normaliseRowsBackward(unit, norms, dAnchors, rows, d), logitScale: Float32Array.of(dLogScale), weights: dWeights,
        bias: Float32Array.of(dBias), r1w: dR1w, r1b: dR1b, r2w: dR2w, r2b: Float32Array.of(dBias),
      },
    };
  }

  return {
    kind: 'clip-agiqa-anchored', dim: d, paramNames: ANCHORED_PARAMS, tensorNames: ANCHORED_TENSORS, categories: [...o.categories],
    init: (rng) => ({
      levels: Float32Array.from(o.levelInit),
      logitScale: Float32Array.of(Math.log(o.logitScale ?? 100)),
      weights: new Float32Array(c).fill(1 / c),
      bias: new Float32Array(1),
      r1w: linearInit(rank * d, d, rng),
      r1b: linearInit(rank, d, rng),
      r2w: new Float32Array(rank),
      r2b: new Float32Array(1),
    }),
    lossAndGradients,
    tensors: (p) => new Map([
      [ANCHORED_TENSORS.level_features, { shape: [c, LEVELS, d], data: p.levels! }],
      [ANCHORED_TENSORS.logit_scale, { shape: [1], data: p.logitScale! }],
      [ANCHORED_TENSORS.level_values, { shape: [LEVELS], data: Float32Array.from(values) }],
      [ANCHORED_TENSORS.category_weights, { shape: [c], data: p.weights! }],
      [ANCHORED_TENSORS.bias, { shape: [1], data: p.bias! }],
      [ANCHORED_TENSORS.residual1_weight, { shape: [rank, d], data: p.r1w! }],
      [ANCHORED_TENSORS.residual1_bias, { shape: [rank], data: p.r1b! }],
      [ANCHORED_TENSORS.residual2_weight, { shape: [1, rank], data: p.r2w! }],
      [ANCHORED_TENSORS.residual2_bias, { shape: [1], data: p.r2b! }],
    ]),
  };
}
