import type { Tensor } from '../bundle/safetensors.js';
import { headFromImageScore, type Head, type HeadEntry } from './head.js';
import { headTensor, l2normalise, softmaxExpectation } from './tensors.js';

/**
 * A zero-shot head: no learnt weights, only text embeddings of fixed prompts. For each of G groups of K
 * prompts, the image's cosine similarities to the prompts, scaled as CLIP scales its logits, give a
 * softmax over the group, read out as the expected prompt value; the score is the mean over groups:
 *
 *   score = mean_g sum_k softmax_k(exp(logit_scale) * cos(image, prompt_features[g, k])) * prompt_values[k]
 *
 * CLIP-IQA (Wang, Chan, Loy, AAAI 2023) is G antonym pairs with values [1, 0] ("Good photo." / "Bad photo.");
 * the level reading is one group of the six level prompts with values 0, 0.2, ..., 1.
 */
export function createClipZeroShotHead(entry: HeadEntry, tensors: Map<string, Tensor>, embedDim: number, source: string): Head {
  const d = embedDim;
  const values = headTensor(entry, tensors, 'prompt_values', [null], source).data;
  const k = values.length;
  const features = headTensor(entry, tensors, 'prompt_features', [null, k, d], source);
  const groups = features.shape[0]!;
  const scale = Math.exp(headTensor(entry, tensors, 'logit_scale', [1], source).data[0]!);
  const anchors = new Float64Array(groups * k * d);
  for (let p = 0; p < groups * k; p++) anchors.set(l2normalise(features.data, p * d, d), p * d);
  const logits = new Float64Array(k);

  return headFromImageScore(entry, d, (image) => {
    let sum = 0;
    for (let g = 0; g < groups; g++) sum += softmaxExpectation(image, anchors, g * k, values, scale, logits);
    return sum / groups;
  });
}
