import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

import { UsageError, type Scorer } from '@clip-agiqa/core';
import { writeAtomically } from '@clip-agiqa/core/internal';

import { DatasetError, type Dataset } from '../datasets/dataset.js';
import type { Embeddings } from './cache.js';

export interface PromptEmbedOptions {
  scorer: Scorer;
  /** Cache root (the image embeddings'): prompt embeddings are kept under <bundle manifest sha256>-text/<prompt sha256>.f32. */
  cacheDir: string;
  onProgress?: (done: number, total: number, cached: number) => void;
}

/** The prompts of a dataset's samples, in order; every sample must have one. */
export function samplePrompts(dataset: Dataset): string[] {
  const missing = dataset.samples.filter((s) => !s.prompt?.trim());
  if (missing.length) {
    const examples = missing.slice(0, 3).map((s) => s.id).join(', ');
    throw new DatasetError(dataset.name, [`${missing.length} of ${dataset.samples.length} images have no prompt (${examples}${missing.length > 3 ? ', ...' : ''}): `
      + 'a head that reads prompts trains only on images with the prompt they were generated from (AIGCIQA2023: its flat label file, aigciqa2023-csv, has them; the release layout does not)']);
  }
  return dataset.samples.map((s) => s.prompt!);
}

/**
 * The prompt text embedding of every sample [N, D] in dataset order, from the bundle's text tower (the
 * scorer's own, batched and cached as scoring caches prompts), each distinct prompt encoded once and kept
 * on disk keyed by bundle and prompt text, so a second run reads them back.
 */
export async function embedPrompts(dataset: Dataset, o: PromptEmbedOptions): Promise<Float32Array> {
  if (!o.scorer.bundle.manifest.text_encoder) {
    throw new UsageError('INVALID_ARGUMENT', `the model ${o.scorer.model.name} has no text tower: a head that reads prompts cannot be trained on it`);
  }
  const prompts = samplePrompts(dataset);
  const dim = o.scorer.model.embedDim;
  const root = join(o.cacheDir, `${o.scorer.model.manifestSha256}-text`);
  const distinct = [...new Set(prompts)];
  const byPrompt = new Map<string, Float32Array>();
  let done = 0;
  let fromCache = 0;
  await Promise.all(distinct.map(async (prompt) => {
    const path = join(root, `${createHash('sha256').update(prompt).digest('hex')}.f32`);
    const buf = await readFile(path).catch(() => null);
    let vector: Float32Array;
    if (buf && buf.byteLength === dim * 4) {
      vector = new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
      fromCache++;
    } else {
      vector = await o.scorer.embedText(prompt);
      await writeAtomically(path, new Uint8Array(vector.buffer, vector.byteOffset, vector.byteLength));
    }
    byPrompt.set(prompt, vector);
    o.onProgress?.(++done, distinct.length, fromCache);
  }));
  const out = new Float32Array(prompts.length * dim);
  prompts.forEach((p, i) => out.set(byPrompt.get(p)!, i * dim));
  return out;
}

/** Rows [image || prompt text] [N, 2D] of every view: the input rows of a head that reads prompts. */
export function pairEmbeddings(images: Embeddings, texts: Float32Array): Embeddings {
  const d = images.dim;
  const n = images.test.length / d;
  if (texts.length !== n * d) throw new UsageError('SHAPE_MISMATCH', `${texts.length / d} prompt embeddings for ${n} images`);
  const pair = (view: Float32Array) => {
    const out = new Float32Array(n * 2 * d);
    for (let i = 0; i < n; i++) {
      out.set(view.subarray(i * d, (i + 1) * d), i * 2 * d);
      out.set(texts.subarray(i * d, (i + 1) * d), i * 2 * d + d);
    }
    return out;
  };
  return { dim: 2 * d, test: pair(images.test), train: images.train.map(pair) };
}
