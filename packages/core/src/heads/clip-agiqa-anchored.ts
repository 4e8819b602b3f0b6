import type { Tensor } from '../bundle/safetensors.js';
import { headFromImageScore, type Head, type HeadEntry } from './head.js';
import { LEVELS } from './specs.js';
import { headTensor, l2normalise, softmaxExpectation } from './tensors.js';

/**
 * The anchored head (beyond the paper). For each category c (e.g. overall, technical, aesthetic,
 * realism) it reads a distribution over the six levels from the image's cosine similarities to that
 * category's level features, scaled as CLIP scales its logits:
 *
 *   p_c = softmax_l(exp(logit_scale) * cos(image, level_features[c, l]))
 *   score = bias + sum_c category_weights[c] * sum_l p_c[l] * level_values[l] + residual(norm(image))
 *
 * where residual is Linear(D, R) -> ReLU -> Linear(R, 1). The expected MOS keeps the score tied to
 * CLIP's zero-shot reading of the level words; the residual corrects what the levels miss.
 */
export function createClipAgiqaAnchoredHead(entry: HeadEntry, tensors: Map<string, Tensor>, embedDim: number, source: string): Head {
  const d = embedDim;
  const tensor = (key: string, shape: (number | null)[]) => headTensor(entry, tensors, key, shape, source).data;
  const categories = entry.categories?.length ?? 0;
  const features = tensor('level_features', [categories, LEVELS, d]);
  const scale = Math.exp(tensor('logit_scale', [1])[0]!);
  const values = tensor('level_values', [LEVELS]);
  const weights = tensor('category_weights', [categories]);
  const bias = tensor('bias', [1])[0]!;
  const r1b = tensor('residual1_bias', [null]);
  const rank = r1b.length;
  const r1w = tensor('residual1_weight', [rank, d]);
  const r2w = tensor('residual2_weight', [1, rank]);
  const r2b = tensor('residual2_bias', [1])[0]!;

  const anchors = new Float64Array(categories * LEVELS * d);
  for (let k = 0; k < categories * LEVELS; k++) anchors.set(l2normalise(features, k * d, d), k * d);
  const logits = new Float64Array(LEVELS);

  return headFromImageScore(entry, d, (image) => {
    let s = bias + r2b;
    for (let c = 0; c < categories; c++) s += weights[c]! * softmaxExpectation(image, anchors, c * LEVELS, values, scale, logits);
    for (let j = 0; j < rank; j++) {
      let h = r1b[j]!;
      for (let k = 0; k < d; k++) h += r1w[j * d + k]! * image[k]!;
      if (h > 0) s += r2w[j]! * h;
    }
    return s;
  });
}
