import { UsageError } from '../errors.js';
import type { HeadProvenance } from './head.js';
import { l2normalise } from './tensors.js';

/**
 * The weights w of CLIPScore = w * max(cos(image, text), 0): 2.5 in Hessel et al. 2021 ("CLIPScore", the
 * paper's choice, which spreads typical scores over about [0, 1]), 100 in torchmetrics' CLIPScore.
 */
export const CLIPSCORE_WEIGHTS = { hessel: 2.5, torchmetrics: 100 } as const;
export type ClipScoreScale = keyof typeof CLIPSCORE_WEIGHTS;

/** A head that scores an image against its prompt: it reads the image and the prompt's text embedding. */
export interface PromptHead {
  readonly name: string;
  readonly kind: string;
  readonly scoreRange: readonly [number, number];
  readonly higherIsBetter: boolean;
  readonly trained: boolean;
  readonly provenance: HeadProvenance;
  /** One score from an image embedding and its prompt's text embedding (both as the towers give them). */
  scorePair(image: Float32Array, text: Float32Array): number;
}

/** `w` from a scale name or a positive number (default Hessel's 2.5). */
export function clipScoreWeight(scale: ClipScoreScale | number = 'hessel'): number {
  const w = typeof scale === 'number' ? scale : CLIPSCORE_WEIGHTS[scale];
  if (!(typeof w === 'number' && Number.isFinite(w) && w > 0)) {
    throw new UsageError('INVALID_ARGUMENT', `clipScore must be hessel, torchmetrics or a positive number, got ${String(scale)}`);
  }
  return w;
}

/** Cosine similarity of two vectors, each L2-normalised as torch.nn.functional.normalize does. */
export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const ua = l2normalise(a);
  const ub = l2normalise(b);
  let dot = 0;
  for (let i = 0; i < ua.length; i++) dot += ua[i]! * ub[i]!;
  return dot;
}

/**
 * Zero-shot text-image alignment on any CLIP with a text tower: w * max(cos(image, text), 0), in [0, w],
 * higher is better. No learnt weights: it reads the towers' embeddings as CLIP was trained to compare them.
 */
export function createClipScoreHead(scale: ClipScoreScale | number = 'hessel', name = 'clipscore'): PromptHead {
  const w = clipScoreWeight(scale);
  return {
    name, kind: 'clipscore', scoreRange: [0, w], higherIsBetter: true, trained: false, provenance: 'zero-shot',
    scorePair: (image, text) => {
      if (image.length !== text.length) {
        throw new UsageError('SHAPE_MISMATCH', `the image embedding has ${image.length} values and the text embedding ${text.length}`);
      }
      return w * Math.max(cosine(image, text), 0);
    },
  };
}
