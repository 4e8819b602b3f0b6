import type { MatmulBackend } from '../fitting/linalg.js';
import { dropoutMask, type Dropout } from './head-model.js';

/** The weights of Linear(W, H) -> ReLU -> Linear(H, 1): w1 [H, W], b1 [H], w2 [H], b2 [1]. */
export interface TwoLayers {
  w1: Float32Array;
  b1: Float32Array;
  w2: Float32Array;
  b2: Float32Array;
}

/**
 * Forward and backward of Linear(W, H) -> ReLU -> Dropout -> Linear(H, 1) on features [B, W] under the
 * MSE against `targets`: predictions, loss, the four weights' gradients, and the gradient at the first
 * layer's output (dz [B, H]) for heads that carry it further back. The hidden dropout mask is drawn here,
 * after whatever the caller drew for its features.
 */
export async function twoLayerStep(features: Float32Array, p: TwoLayers, targets: ArrayLike<number>, backend: MatmulBackend, dropout?: Dropout) {
  const h = p.b1.length;
  const b = targets.length;
  const width = features.length / b;
  const z = await backend.gemm(features, [b, width], p.w1, [h, width], false, true);
  const mask = dropoutMask(b * h, dropout);
  const act = new Float32Array(b * h);
  const predictions = new Float64Array(b);
  let loss = 0;
  for (let i = 0; i < b; i++) {
    let s = p.b2[0]!;
    for (let j = 0; j < h; j++) {
      const pre = z[i * h + j]! + p.b1[j]!;
      z[i * h + j] = pre;
      const a = pre > 0 ? pre * (mask ? mask[i * h + j]! : 1) : 0;
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
      const g = z[i * h + j]! > 0 ? dp * p.w2[j]! * (mask ? mask[i * h + j]! : 1) : 0;
      dz[i * h + j] = g;
      db1[j]! += g;
    }
  }
  const dw1 = await backend.gemm(dz, [b, h], features, [b, width], true, false);
  return { loss, predictions, dz, grads: { w1: dw1, b1: db1, w2: dw2, b2: Float32Array.of(db2) } };
}
