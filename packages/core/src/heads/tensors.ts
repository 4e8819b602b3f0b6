import { BundleError } from '../errors.js';
import type { ModelBundleManifest } from '../generated/model-bundle.js';
import type { Tensor } from '../bundle/safetensors.js';
import { requireFinite } from '../util/finite.js';
import { NORM_EPS } from './specs.js';

/** `x / max(||x||, 1e-12)`, as torch.nn.functional.normalize does. */
export function l2normalise(values: ArrayLike<number>, offset = 0, length = values.length): Float64Array {
  let sq = 0;
  for (let i = 0; i < length; i++) sq += values[offset + i]! ** 2;
  const inv = 1 / Math.max(Math.sqrt(sq), NORM_EPS);
  const out = new Float64Array(length);
  for (let i = 0; i < length; i++) out[i] = values[offset + i]! * inv;
  return out;
}

/**
 * Reads the tensor a head entry names under `key` and checks its shape and that its values are finite; `null` in `shape` accepts any
 * size on that axis.
 */
export function headTensor(entry: ModelBundleManifest['heads'][number], tensors: Map<string, Tensor>, key: string, shape: (number | null)[], source: string): Tensor {
  const name = entry.tensors[key];
  if (!name) throw new BundleError('SCHEMA_VIOLATION', `head ${entry.name} (${entry.kind}) names no tensor for ${key}`, { input: source });
  const t = tensors.get(name);
  if (!t) throw new BundleError('BAD_TENSOR', `missing tensor ${name}`, { input: source });
  if (t.shape.length !== shape.length || t.shape.some((d, i) => shape[i] !== null && d !== shape[i])) {
    throw new BundleError('BAD_TENSOR', `tensor ${name} has shape [${t.shape}], expected [${shape.map((d) => d ?? '*')}]`, { input: source });
  }
  requireFinite(t.data, `tensor ${name}`, source);
  return t;
}

/**
 * The expected value of a softmax over scaled cosine similarities: sum_k softmax_k(scale * <image, anchor_k>) * values[k],
 * where anchor_k is the k-th of values.length unit-norm rows of image.length values starting at row `firstRow` of `anchors`.
 * `logits` is scratch space of values.length entries.
 */
export function softmaxExpectation(image: Float64Array, anchors: Float64Array, firstRow: number, values: ArrayLike<number>,
  scale: number, logits: Float64Array): number {
  const d = image.length;
  const k = values.length;
  let max = -Infinity;
  for (let p = 0; p < k; p++) {
    const base = (firstRow + p) * d;
    let dot = 0;
    for (let i = 0; i < d; i++) dot += image[i]! * anchors[base + i]!;
    logits[p] = scale * dot;
    max = Math.max(max, logits[p]!);
  }
  let total = 0;
  let expected = 0;
  for (let p = 0; p < k; p++) {
    const e = Math.exp(logits[p]! - max);
    total += e;
    expected += e * values[p]!;
  }
  return expected / total;
}
