import { UsageError } from '../errors.js';
import type { Tensor } from '../bundle/safetensors.js';
import type { PromptHead } from './clipscore.js';
import { headProvenance, type HeadEntry } from './head.js';
import { headTensor, l2normalise } from './tensors.js';

/**
 * The trained text-image alignment head: it reads an image and the prompt it was generated from,
 *
 *   x = [v || t || v * t] -> Linear(3D, H) -> ReLU -> Linear(H, 1)
 *
 * with v the L2-normalised image embedding and t the L2-normalised prompt text embedding (dropout 0.5
 * before the last Linear in training only), as the paper's quality head reads [v || level texts].
 *
 * Why these three parts: the elementwise product v * t sums to cos(v, t), all CLIPScore reads, so the head
 * starts from what zero-shot alignment knows and learns which dimensions of the agreement matter for
 * people's alignment ratings (a reweighted cosine); v and t alone carry what the image and the prompt bring
 * on their own (some prompts are hard to follow whatever the image, some generators follow none), which a
 * product term cannot express. A plain [v || t] would leave the head to discover their agreement through
 * one ReLU layer, which it does poorly with a few thousand ratings.
 */
export function createClipAgiqaAlignHead(entry: HeadEntry, tensors: Map<string, Tensor>, embedDim: number, source: string): PromptHead {
  const d = embedDim;
  const tensor = (key: string, shape: (number | null)[]) => headTensor(entry, tensors, key, shape, source).data;
  const b1 = tensor('fc1_bias', [null]);
  const hidden = b1.length;
  const w1 = tensor('fc1_weight', [hidden, 3 * d]);
  const w2 = tensor('fc2_weight', [1, hidden]);
  const b2 = tensor('fc2_bias', [1])[0]!;
  const x = new Float64Array(3 * d);

  return {
    name: entry.name, kind: entry.kind, scoreRange: [entry.score_range[0], entry.score_range[1]], higherIsBetter: entry.higher_is_better,
    trained: entry.trained, provenance: headProvenance(entry),
    scorePair(image, text) {
      if (image.length !== d || text.length !== d) {
        throw new UsageError('SHAPE_MISMATCH', `head ${entry.name} reads ${d}-value embeddings, got an image embedding of ${image.length} and a text embedding of ${text.length}`);
      }
      const v = l2normalise(image);
      const t = l2normalise(text);
      for (let k = 0; k < d; k++) {
        x[k] = v[k]!;
        x[d + k] = t[k]!;
        x[2 * d + k] = v[k]! * t[k]!;
      }
      let s = b2;
      for (let j = 0; j < hidden; j++) {
        let h = b1[j]!;
        const row = j * 3 * d;
        for (let k = 0; k < 3 * d; k++) h += w1[row + k]! * x[k]!;
        if (h > 0) s += w2[j]! * h;
      }
      return s;
    },
  };
}
