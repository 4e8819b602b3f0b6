import { join } from 'node:path';

import type * as Ort from 'onnxruntime-node';

import type { ModelBundleManifest } from '../generated/model-bundle.js';
import { openSession, type SessionOptions } from '../runtime/device.js';
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

/** A text that CLIP's context cut: how many tokens it had and how many the tower read. */
export interface Truncation {
  index: number;
  tokens: number;
  contextLength: number;
}

/**
 * A bundle's text tower, open: CLIP's tokenizer from the bundle, rows padded to the context length,
 * through the ONNX text encoder. Its outputs are the projection outputs (text_embeds), not normalised.
 */
export class TextTower {
  private constructor(
    private readonly session: Ort.InferenceSession,
    readonly tokenizer: ClipTokenizer,
    private readonly entry: TextEncoderEntry,
  ) {}

  static async open(dir: string, te: TextEncoderEntry, options: SessionOptions = {}): Promise<TextTower> {
    const tokenizer = await ClipTokenizer.fromFiles(join(dir, te.tokenizer.vocab), join(dir, te.tokenizer.merges));
    const { session } = await openSession(join(dir, te.file), options);
    return new TextTower(session, tokenizer, te);
  }

  get contextLength(): number {
    return this.entry.context_length;
  }

  /** Embeddings [texts.length, D], and the texts longer than the context (cut as CLIP cuts them). */
  async encode(texts: readonly string[]): Promise<{ embeds: Float32Array; truncated: Truncation[] }> {
    const te = this.entry;
    const ctx = te.context_length;
    const ids = new BigInt64Array(texts.length * ctx);
    const truncated: Truncation[] = [];
    texts.forEach((text, row) => {
      const t = this.tokenizer.tokenizeText(text, ctx);
      if (t.truncated) truncated.push({ index: row, tokens: t.tokens, contextLength: ctx });
      t.ids.forEach((id, i) => (ids[row * ctx + i] = BigInt(id)));
    });
    const Tensor = onnxRuntime().Tensor;
    const feeds: Record<string, Ort.Tensor> = { [te.input]: new Tensor('int64', ids, [texts.length, ctx]) };
    if (te.attention_mask) feeds[te.attention_mask] = new Tensor('int64', attentionMask(ids, texts.length, ctx, this.tokenizer.endId), [texts.length, ctx]);
    const out = await this.session.run(feeds, [te.output]);
    return { embeds: Float32Array.from(out[te.output]!.data as Float32Array), truncated };
  }

  close(): Promise<void> {
    return this.session.release();
  }
}

/** Text embeddings [texts.length, D] of a bundle's text tower, opened for this one call on the CPU. */
export async function encodeTexts(dir: string, te: TextEncoderEntry, texts: readonly string[]): Promise<Float32Array> {
  const tower = await TextTower.open(dir, te);
  try {
    return (await tower.encode(texts)).embeds;
  } finally {
    await tower.close();
  }
}
