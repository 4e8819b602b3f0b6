import type { MatmulBackend } from './linalg.js';
import type { Rng } from './rng.js';

export const LEVELS = 6;

/**
 * Parameters of the CLIP-AGIQA head: the six level-prompt embeddings and the MLP.
 *
 * CLIP-AGIQA learns 16 context tokens in front of each level word and runs them through the frozen text
 * tower. The prompts do not depend on the image, so all the head ever sees of them is six fixed vectors in
 * CLIP's embedding space; we learn those vectors directly, initialised from the text tower's encoding of
 * the prompts. Every set of context tokens yields such vectors; the converse holds only as far as the
 * text tower can reach a vector, so this is the same model class or a slightly larger one.
 */
export interface MlpParams {
  dim: number;
  hidden: number;
  /** [6, D] */
  text: Float32Array;
  /** [H, 7D] */
  w1: Float32Array;
  b1: Float32Array;
  /** [H] (the [1, H] of Linear(H, 1)) */
  w2: Float32Array;
  b2: Float32Array;
}

export const PARAM_NAMES = ['text', 'w1', 'b1', 'w2', 'b2'] as const;
export type ParamName = (typeof PARAM_NAMES)[number];

/** PyTorch's default Linear initialisation: weights and biases uniform in ±1/sqrt(fan_in). */
export function initMlpParams(textInit: Float32Array, dim: number, rng: Rng, hidden = 512): MlpParams {
  if (textInit.length !== LEVELS * dim) throw new RangeError(`text features must hold ${LEVELS}x${dim} values`);
  const uniform = (n: number, fanIn: number) => Float32Array.from({ length: n }, () => rng.uniform(-1, 1) / Math.sqrt(fanIn));
  const inFeatures = (LEVELS + 1) * dim;
  return {
    dim, hidden, text: Float32Array.from(textInit),
    w1: uniform(hidden * inFeatures, inFeatures), b1: uniform(hidden, inFeatures),
    w2: uniform(hidden, hidden), b2: uniform(1, hidden),
  };
}

export function cloneParams(p: MlpParams): MlpParams {
  return { dim: p.dim, hidden: p.hidden, text: p.text.slice(), w1: p.w1.slice(), b1: p.b1.slice(), w2: p.w2.slice(), b2: p.b2.slice() };
}

function normaliseRows(x: Float32Array, rows: number, dim: number): { unit: Float64Array; norms: Float64Array } {
  const unit = new Float64Array(rows * dim);
  const norms = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let s = 0;
    for (let k = 0; k < dim; k++) s += x[r * dim + k]! ** 2;
    norms[r] = Math.max(Math.sqrt(s), 1e-12);
    for (let k = 0; k < dim; k++) unit[r * dim + k] = x[r * dim + k]! / norms[r]!;
  }
  return { unit, norms };
}

/** Image embeddings [N, D] -> L2-normalised rows (the head's image input). */
export function normaliseEmbeddings(embeds: Float32Array, count: number, dim: number): Float32Array {
  return Float32Array.from(normaliseRows(embeds, count, dim).unit);
}

export interface Step {
  loss: number;
  predictions: Float64Array;
  grads: Omit<MlpParams, 'dim' | 'hidden'>;
}

/**
 * MSE loss and its gradient for one batch. `images` holds normalised image embeddings [B, D]. With
 * `dropout`, both dropout layers (before each Linear) draw their masks from its generator.
 */
export async function lossAndGradients(p: MlpParams, images: Float32Array, targets: ArrayLike<number>, backend: MatmulBackend,
  dropout?: { rate: number; rng: Rng }): Promise<Step> {
  const { dim: d, hidden: h } = p;
  const b = targets.length;
  const width = (LEVELS + 1) * d;
  const keep = dropout ? 1 - dropout.rate : 1;
  const mask = (n: number) => (dropout ? Float32Array.from({ length: n }, () => (dropout.rng.next() < keep ? 1 / keep : 0)) : null);
  const { unit: text, norms } = normaliseRows(p.text, LEVELS, d);

  const m1 = mask(b * width);
  const features = new Float32Array(b * width);
  for (let i = 0; i < b; i++) {
    for (let k = 0; k < width; k++) {
      const v = k < d ? images[i * d + k]! : text[k - d]!;
      features[i * width + k] = m1 ? v * m1[i * width + k]! : v;
    }
  }
  const z = await backend.gemm(features, [b, width], p.w1, [h, width], false, true);
  const m2 = mask(b * h);
  const act = new Float32Array(b * h);
  const predictions = new Float64Array(b);
  let loss = 0;
  for (let i = 0; i < b; i++) {
    let s = p.b2[0]!;
    for (let j = 0; j < h; j++) {
      const pre = z[i * h + j]! + p.b1[j]!;
      z[i * h + j] = pre;
      const a = pre > 0 ? pre * (m2 ? m2[i * h + j]! : 1) : 0;
      act[i * h + j] = a;
      s += a * p.w2[j]!;
    }
    predictions[i] = s;
    loss += (s - targets[i]!) ** 2 / b;
  }

  const dw2 = new Float32Array(h);
  const db1 = new Float32Array(h);
  const dz = new Float32Array(b * h);
  let db2 = 0;
  for (let i = 0; i < b; i++) {
    const dp = (2 * (predictions[i]! - targets[i]!)) / b;
    db2 += dp;
    for (let j = 0; j < h; j++) {
      dw2[j]! += dp * act[i * h + j]!;
      const g = z[i * h + j]! > 0 ? dp * p.w2[j]! * (m2 ? m2[i * h + j]! : 1) : 0;
      dz[i * h + j] = g;
      db1[j]! += g;
    }
  }
  const dw1 = await backend.gemm(dz, [b, h], features, [b, width], true, false);
  const dFeatures = await backend.gemm(dz, [b, h], p.w1, [h, width], false, false);
  // The text part of every sample's features is the same normalised text: sum its gradients, then
  // carry them back through the normalisation: d t = (g - u (u . g)) / |t|.
  const dUnit = new Float64Array(LEVELS * d);
  for (let i = 0; i < b; i++) {
    for (let k = d; k < width; k++) dUnit[k - d]! += dFeatures[i * width + k]! * (m1 ? m1[i * width + k]! : 1);
  }
  const dText = new Float32Array(LEVELS * d);
  for (let l = 0; l < LEVELS; l++) {
    let dot = 0;
    for (let k = 0; k < d; k++) dot += text[l * d + k]! * dUnit[l * d + k]!;
    for (let k = 0; k < d; k++) dText[l * d + k] = (dUnit[l * d + k]! - text[l * d + k]! * dot) / norms[l]!;
  }
  return { loss, predictions, grads: { text: dText, w1: dw1, b1: db1, w2: dw2, b2: Float32Array.of(db2) } };
}
