/**
 * The native dependencies, loaded on first use: importing a clip-agiqa package costs neither ONNX
 * Runtime nor libvips until a model runs or an image is decoded (help, usage errors, decisions on
 * given scores). Both are CommonJS, so a synchronous require loads them.
 */
import { createRequire } from 'node:module';

import type * as OnnxRuntime from 'onnxruntime-node';
import type SharpConstructor from 'sharp';

const require = createRequire(import.meta.url);

let ortModule: typeof OnnxRuntime | undefined;
let sharpModule: typeof SharpConstructor | undefined;

/** onnxruntime-node. */
export function onnxRuntime(): typeof OnnxRuntime {
  return (ortModule ??= require('onnxruntime-node') as typeof OnnxRuntime);
}

/** sharp(input, options): a libvips pipeline, as sharp's own default export makes it. */
export function sharp(...args: Parameters<typeof SharpConstructor>): ReturnType<typeof SharpConstructor> {
  return (sharpModule ??= require('sharp') as typeof SharpConstructor)(...args);
}
