import assert from 'node:assert/strict';
import { copyFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { createScorer, type Scorer } from '@clip-agiqa/core';
import { embedDataset, loadGenericCsv, randomResizedCropBox, Rng } from '@clip-agiqa/train';

import { DEMO_MODEL_DIR, IMAGES, tempDir } from './support/helpers.js';

describe('dataset embeddings', () => {
  let scorer: Scorer;
  before(async () => {
    scorer = await createScorer({ model: DEMO_MODEL_DIR });
  });
  after(async () => scorer.close());

  it('embeds the test view like the scorer, caches every view, and resumes', async () => {
    using t = tempDir();
    const names = ['landscape.jpg', 'portrait.jpg', 'square.png', 'wide.webp', 'grey.png'];
    for (const n of names) copyFileSync(join(IMAGES, n), join(t.dir, n));
    writeFileSync(join(t.dir, 'ratings.csv'), `path,mos\n${names.map((n, i) => `${n},${i}`).join('\n')}\n`);
    const dataset = loadGenericCsv(join(t.dir, 'ratings.csv'));
    const cacheDir = join(t.dir, 'cache');
    const progress: number[] = [];
    const first = await embedDataset(dataset, { scorer, cacheDir, trainViews: 2, seed: 7, onProgress: (_, __, cached) => progress.push(cached) });
    assert.equal(progress.at(-1), 0);
    const dim = first.dim;
    for (const [i, n] of names.entries()) {
      const direct = await scorer.embed(join(t.dir, n));
      assert.deepEqual(first.test.subarray(i * dim, (i + 1) * dim), direct);
      assert.notDeepEqual(first.train[0]!.subarray(i * dim, (i + 1) * dim), direct);
      assert.notDeepEqual(first.train[0]!.subarray(i * dim, (i + 1) * dim), first.train[1]!.subarray(i * dim, (i + 1) * dim));
    }
    const cached: number[] = [];
    const second = await embedDataset(dataset, { scorer, cacheDir, trainViews: 2, seed: 7, onProgress: (_, __, c) => cached.push(c) });
    assert.equal(cached.at(-1), names.length, 'everything from the cache');
    assert.deepEqual(second, first);

    const root = join(cacheDir, readdirSync(cacheDir)[0]!);
    rmSync(join(root, 'train-s7-v1'), { recursive: true });
    const resumed: number[] = [];
    const third = await embedDataset(dataset, { scorer, cacheDir, trainViews: 2, seed: 7, onProgress: (_, __, c) => resumed.push(c) });
    assert.equal(resumed.at(-1), 0, 'images missing a view are computed again');
    assert.deepEqual(third, first, 'recomputed views are identical (seeded per image and view)');
    const other = await embedDataset(dataset, { scorer, cacheDir, trainViews: 1, seed: 8 });
    assert.notDeepEqual(other.train[0], first.train[0], 'another seed draws other crops');
  });

  it('draws crop boxes within torchvision\'s area and aspect-ratio ranges', () => {
    const rng = new Rng(1);
    for (let i = 0; i < 2000; i++) {
      const b = randomResizedCropBox(512, 384, rng);
      assert.ok(b.left >= 0 && b.top >= 0 && b.left + b.width <= 512 && b.top + b.height <= 384);
      const area = (b.width * b.height) / (512 * 384);
      assert.ok(area >= 0.07 && area <= 1.0001, `area ${area}`);
      const ratio = b.width / b.height;
      assert.ok(ratio >= 0.74 && ratio <= 1.35, `ratio ${ratio}`);
    }
  });

});
