import type { Tensor } from '../bundle/safetensors.js';
import { headFromImageScore, type Head, type HeadEntry } from './head.js';
import { LEVELS } from './specs.js';
import { headTensor, l2normalise } from './tensors.js';

/**
 * The CLIP-AGIQA head: [norm(image) || norm(text_1) ... norm(text_6)] -> Linear(7D, H) -> ReLU -> Linear(H, 1).
 *
 * The six level-prompt embeddings are constants once trained, so their part of the first layer is folded
 * into its bias when the head loads: scoring an image costs H x D multiply-adds instead of H x 7D.
 */
export function createClipAgiqaMlpHead(entry: HeadEntry, tensors: Map<string, Tensor>, embedDim: number, source: string): Head {
  const d = embedDim;
  const tensor = (key: string, shape: (number | null)[]) => headTensor(entry, tensors, key, shape, source);
  const text = tensor('text_features', [LEVELS, d]).data;
  const b1 = tensor('fc1_bias', [null]).data;
  const hidden = b1.length;
  const w1 = tensor('fc1_weight', [hidden, (LEVELS + 1) * d]).data;
  const w2 = tensor('fc2_weight', [1, hidden]).data;
  const b2 = tensor('fc2_bias', [1]).data[0]!;

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

  return headFromImageScore(entry, d, (image) => {
    let s = b2;
    for (let j = 0; j < hidden; j++) {
      let h = folded[j]!;
      const base = j * d;
      for (let k = 0; k < d; k++) h += w1Image[base + k]! * image[k]!;
      if (h > 0) s += w2[j]! * h;
    }
    return s;
  });
}
