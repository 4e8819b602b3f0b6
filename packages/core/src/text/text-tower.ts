import { join } from 'node:path';

import type * as Ort from 'onnxruntime-node';

import type { ModelBundleManifest } from '../generated/model-bundle.js';
import { openSession } from '../runtime/device.js';
import { onnxRuntime } from '../runtime/native.js';
import { ClipTokenizer } from './tokenizer.js';

export type TextEncoderEntry = NonNullable<ModelBundleManifest['text_encoder']>;

/** int64 attention mask of tokenized rows: 1 up to and including each row's first end token, 0 for the padding after it. */
function attentionMask(ids: BigInt64Array, rows: number, contextLength: number, endId: number): BigInt64Array {
  const mask = new BigInt64Array(ids.length);
  for (let r = 0; r < rows; r++) {
    const base = r * contextLength;
    for (let i = 0; i < contextLength; i++) {
      mask[base + i] = 1n;
      if (i > 0 && ids[base + i] === BigInt(endId)) break;
    }
  }
  return mask;
}

/**
 * Text embeddings [texts.length, D] (the projection outputs, not normalised) of a bundle's text tower:
 * CLIP's tokenizer from the bundle, padded to the context length, through the ONNX text encoder.
 */
export async function encodeTexts(dir: string, te: TextEncoderEntry, texts: readonly string[]): Promise<Float32Array> {
  const tokenizer = await ClipTokenizer.fromFiles(join(dir, te.tokenizer.vocab), join(dir, te.tokenizer.merges));
  const ctx = te.context_length;
  const ids = tokenizer.tokenize([...texts], ctx);
  const feeds: Record<string, Ort.Tensor> = { [te.input]: new (onnxRuntime().Tensor)('int64', ids, [texts.length, ctx]) };
  if (te.attention_mask) feeds[te.attention_mask] = new (onnxRuntime().Tensor)('int64', attentionMask(ids, texts.length, ctx, tokenizer.endId), [texts.length, ctx]);
  const { session } = await openSession(join(dir, te.file));
  try {
    const out = await session.run(feeds, [te.output]);
    return Float32Array.from(out[te.output]!.data as Float32Array);
  } finally {
    await session.release();
  }
}
