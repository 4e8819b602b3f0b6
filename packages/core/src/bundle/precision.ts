import type { ModelBundleManifest } from '../generated/model-bundle.js';

/** The precisions a bundle's image encoder may ship in. */
export type Precision = keyof ModelBundleManifest['image_encoder']['files'];
export const PRECISIONS: readonly Precision[] = ['fp32', 'int8', 'fp16', 'bf16'];
