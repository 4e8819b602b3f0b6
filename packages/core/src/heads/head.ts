import type { ModelBundleManifest } from '../generated/model-bundle.js';
import type { Tensor } from '../bundle/safetensors.js';

export type HeadEntry = ModelBundleManifest['heads'][number];

/** A quality head: maps image embeddings (CLIP projection outputs) to scores in its MOS scale. */
export interface Head {
  readonly name: string;
  readonly kind: string;
  readonly embedDim: number;
  readonly scoreRange: readonly [number, number];
  readonly higherIsBetter: boolean;
  readonly trained: boolean;
  /** `embeds` holds `count` row-major embeddings of `embedDim` values; returns one score per row. */
  score(embeds: Float32Array, count: number): number[];
}

export type HeadFactory = (entry: HeadEntry, tensors: Map<string, Tensor>, embedDim: number, source: string) => Head;
