import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

import type { RgbImage, Scorer } from '@clip-agiqa/core';
import { writeAtomically } from '@clip-agiqa/core/internal';

import type { Dataset } from '../datasets/dataset.js';
import { Rng } from '../rng.js';
import { trainingView, viewSeed } from './views.js';

export interface EmbedOptions {
  scorer: Scorer;
  /** Cache root: embeddings are kept under <bundle manifest sha256>-<precision>/<view>/<image sha256>.f32. */
  cacheDir: string;
  /** Random-resized-crop training views per image (default 0: only the test view). */
  trainViews?: number;
  seed?: number;
  /** Images in flight at once (default 8). */
  concurrency?: number;
  onProgress?: (done: number, total: number, cached: number) => void;
}

export interface Embeddings {
  dim: number;
  /** Test view (shortest-edge resize + centre crop, the scorer's own), [N, D] in dataset order. */
  test: Float32Array;
  /** Training views, each [N, D]. */
  train: Float32Array[];
}

async function cached(path: string, dim: number): Promise<Float32Array | null> {
  const buf = await readFile(path).catch(() => null);
  if (!buf || buf.byteLength !== dim * 4) return null;
  return new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
}

/** Where the cache keeps an image's embeddings: its test view, and training view `view`. */
function cacheRoot(o: Pick<EmbedOptions, 'scorer' | 'cacheDir'>): string {
  return join(o.cacheDir, `${o.scorer.model.manifestSha256}-${o.scorer.model.precision}`);
}
const testEntry = (root: string, key: string) => join(root, 'test', `${key}.f32`);
const viewEntry = (root: string, key: string, view: number, seed: number) => join(root, `train-s${seed}-v${view}`, `${key}.f32`);
const contentKey = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** How many image-tower passes embedDataset would run now: the embeddings the cache lacks (reads every image once to key it). */
export async function pendingTowerPasses(dataset: Dataset, o: Pick<EmbedOptions, 'scorer' | 'cacheDir' | 'trainViews' | 'seed'>): Promise<number> {
  const root = cacheRoot(o);
  const dim = o.scorer.model.embedDim;
  let pending = 0;
  for (const sample of dataset.samples) {
    const key = contentKey(await readFile(sample.path));
    const paths = [testEntry(root, key), ...Array.from({ length: o.trainViews ?? 0 }, (_, v) => viewEntry(root, key, v, o.seed ?? 0))];
    for (const path of paths) if (!(await cached(path, dim))) pending++;
  }
  return pending;
}

/** Identical images of a dataset may store the same entry at once: each write is whole, from its own temporary file. */
const store = (path: string, value: Float32Array) => writeAtomically(path, new Uint8Array(value.buffer, value.byteOffset, value.byteLength));

/**
 * Runs the bundle's image tower over a dataset, with the scorer's own preprocessing, and caches every
 * embedding on disk keyed by bundle, precision, image content and view: a second run reads the cache,
 * an interrupted one resumes where it stopped.
 */
export async function embedDataset(dataset: Dataset, o: EmbedOptions): Promise<Embeddings> {
  const dim = o.scorer.model.embedDim;
  const size = o.scorer.model.imageSize;
  const views = o.trainViews ?? 0;
  const seed = o.seed ?? 0;
  const root = cacheRoot(o);
  const n = dataset.samples.length;
  const test = new Float32Array(n * dim);
  const train = Array.from({ length: views }, () => new Float32Array(n * dim));
  let done = 0;
  let fromCache = 0;
  let next = 0;

  async function one(i: number): Promise<void> {
    const sample = dataset.samples[i]!;
    const bytes = await readFile(sample.path);
    const key = contentKey(bytes);
    const testPath = testEntry(root, key);
    let hit = true;
    let vector = await cached(testPath, dim);
    if (!vector) {
      hit = false;
      vector = await o.scorer.embed({ id: sample.id, image: bytes });
      await store(testPath, vector);
    }
    test.set(vector, i * dim);
    let rgb: RgbImage | undefined;
    for (let v = 0; v < views; v++) {
      const path = viewEntry(root, key, v, seed);
      let view = await cached(path, dim);
      if (!view) {
        hit = false;
        rgb ??= await o.scorer.decode({ id: sample.id, image: bytes });
        const pixels = trainingView(rgb, size, new Rng(viewSeed(key, v, seed)));
        view = await o.scorer.embed({ id: `${sample.id}#view${v}`, image: { data: pixels, width: size, height: size, channels: 3 } });
        await store(path, view);
      }
      train[v]!.set(view, i * dim);
    }
    if (hit) fromCache++;
    o.onProgress?.(++done, n, fromCache);
  }

  const workers = Array.from({ length: Math.min(o.concurrency ?? 8, n) }, async () => {
    while (next < n) await one(next++);
  });
  await Promise.all(workers);
  return { dim, test, train };
}
