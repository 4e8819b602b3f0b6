import type { ModelBundleManifest } from '../generated/model-bundle.js';
import type { Tensor } from '../bundle/safetensors.js';
import { l2normalise } from './tensors.js';

export type HeadEntry = ModelBundleManifest['heads'][number];
export type HeadProvenance = NonNullable<HeadEntry['provenance']>;

/** A head's provenance; manifests without one say trained or untrained through `trained`. */
export function headProvenance(entry: HeadEntry): HeadProvenance {
  return entry.provenance ?? (entry.trained ? 'trained' : 'untrained');
}

/** A quality head: maps image embeddings (CLIP projection outputs) to scores in its MOS scale. */
export interface Head {
  readonly name: string;
  readonly kind: string;
  readonly embedDim: number;
  readonly scoreRange: readonly [number, number];
  readonly higherIsBetter: boolean;
  readonly trained: boolean;
  /** trained on ratings, untrained (random: scores mean nothing) or zero-shot (fixed prompts, no ratings). */
  readonly provenance: HeadProvenance;
  /** `embeds` holds `count` row-major embeddings of `embedDim` values; returns one score per row. */
  score(embeds: Float32Array, count: number): number[];
}

export type HeadFactory = (entry: HeadEntry, tensors: Map<string, Tensor>, embedDim: number, source: string) => Head;

/**
 * A head from its manifest entry and a function that scores one L2-normalised image embedding
 * (every CLIP-AGIQA head reads the image through its normalised embedding).
 */
export function headFromImageScore(entry: HeadEntry, embedDim: number, scoreImage: (image: Float64Array) => number): Head {
  return {
    name: entry.name, kind: entry.kind, embedDim, scoreRange: [entry.score_range[0], entry.score_range[1]],
    higherIsBetter: entry.higher_is_better, trained: entry.trained, provenance: headProvenance(entry),
    score(embeds, count) {
      return Array.from({ length: count }, (_, n) => scoreImage(l2normalise(embeds, n * embedDim, embedDim)));
    },
  };
}
