import { BundleError } from '../errors.js';
import type { Tensor } from '../bundle/safetensors.js';
import type { Head, HeadEntry } from './head.js';

export const LEVELS = 6;

/** `x / max(||x||, 1e-12)`, as torch.nn.functional.normalize does. */
export function l2normalise(values: ArrayLike<number>, offset = 0, length = values.length): Float64Array {
  let sq = 0;
  for (let i = 0; i < length; i++) sq += values[offset + i]! ** 2;
  const inv = 1 / Math.max(Math.sqrt(sq), 1e-12);
  const out = new Float64Array(length);
  for (let i = 0; i < length; i++) out[i] = values[offset + i]! * inv;
  return out;
}

function requireTensor(tensors: Map<string, Tensor>, name: string, shape: number[], source: string): Float32Array {
  const t = tensors.get(name);
  if (!t) throw new BundleError('BAD_TENSOR', `missing tensor ${name}`, { input: source });
  if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
    throw new BundleError('BAD_TENSOR', `tensor ${name} has shape [${t.shape}], expected [${shape}]`, { input: source });
  }
  return t.data;
}

/**
 * The CLIP-AGIQA head: [norm(image) || norm(text_1) ... norm(text_6)] -> Linear(7D, H) -> ReLU -> Linear(H, 1).
 *
 * The six level-prompt embeddings are constants once trained, so their part of the first layer is folded
 * into its bias when the head loads: scoring an image costs H x D multiply-adds instead of H x 7D.
 */
export function createClipAgiqaMlpHead(entry: HeadEntry, tensors: Map<string, Tensor>, embedDim: number, source: string): Head {
  const names = entry.tensors;
  const d = embedDim;
  const text = requireTensor(tensors, names.text_features, [LEVELS, d], source);
  const fc1b = tensors.get(names.fc1_bias);
  const hidden = fc1b?.shape[0] ?? 0;
  const w1 = requireTensor(tensors, names.fc1_weight, [hidden, (LEVELS + 1) * d], source);
  const b1 = requireTensor(tensors, names.fc1_bias, [hidden], source);
  const w2 = requireTensor(tensors, names.fc2_weight, [1, hidden], source);
  const b2 = requireTensor(tensors, names.fc2_bias, [1], source)[0]!;

  const textFlat = new Float64Array(LEVELS * d);
  for (let l = 0; l < LEVELS; l++) textFlat.set(l2normalise(text, l * d, d), l * d);
  const w1Image = new Float64Array(hidden * d);
  const folded = new Float64Array(hidden);
  const row = (LEVELS + 1) * d;
  for (let j = 0; j < hidden; j++) {
    let acc = b1[j]!;
    for (let k = 0; k < LEVELS * d; k++) acc += w1[j * row + d + k]! * textFlat[k]!;
    folded[j] = acc;
    for (let k = 0; k < d; k++) w1Image[j * d + k] = w1[j * row + k]!;
  }

  return {
    name: entry.name,
    kind: entry.kind,
    embedDim: d,
    scoreRange: [entry.score_range[0]!, entry.score_range[1]!],
    higherIsBetter: entry.higher_is_better,
    trained: entry.trained,
    score(embeds, count) {
      const scores: number[] = [];
      for (let n = 0; n < count; n++) {
        const image = l2normalise(embeds, n * d, d);
        let s = b2;
        for (let j = 0; j < hidden; j++) {
          let h = folded[j]!;
          const base = j * d;
          for (let k = 0; k < d; k++) h += w1Image[base + k]! * image[k]!;
          if (h > 0) s += w2[j]! * h;
        }
        scores.push(s);
      }
      return scores;
    },
  };
}
