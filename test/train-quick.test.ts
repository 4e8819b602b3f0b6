// The quick recipe: a subset drawn across generators, the centre crop only, and the run's ETA before it starts.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import { generatorCounts, loadAgiqa3k, stratifiedSubset, type Dataset } from '@clip-agiqa/train';

import { AGIQA3K, CLI, IMAGES, tempDir } from './support/helpers.js';

/** A release whose rows come generator by generator, as AGIQA-3K's do: the first rows are one generator. */
function blocks(sizes: Record<string, number>): Dataset {
  const samples = Object.entries(sizes).flatMap(([generator, k]) => Array.from({ length: k }, (_, i) => ({ id: `${generator}_${i}`, path: `${generator}_${i}.png`, targets: { quality: i }, generator })));
  return { name: 'blocks', targets: ['quality'], scale: [0, 5], samples };
}

describe('stratifiedSubset', () => {
  it('keeps every generator in its share, spread across its rows, in the dataset order', () => {
    const data = blocks({ A: 60, B: 30, C: 10 });
    const subset = stratifiedSubset(data, 20);
    assert.deepEqual(generatorCounts(subset), [['A', 12], ['B', 6], ['C', 2]]);
    const rows = subset.samples.map((s) => data.samples.indexOf(s));
    assert.deepEqual(rows, [...rows].sort((a, b) => a - b), 'dataset order');
    assert.deepEqual(subset.samples.filter((s) => s.generator === 'C').map((s) => s.id), ['C_2', 'C_7'], 'evenly spaced within a generator');
    assert.deepEqual(stratifiedSubset(data, 20), subset, 'deterministic');
    assert.equal(stratifiedSubset(data, 500), data, 'a count beyond the dataset is the dataset');
  });

  it('gives a small generator one image before a large one gets its remainder, and the count adds up', () => {
    const subset = stratifiedSubset(blocks({ A: 97, B: 2, C: 1 }), 5);
    assert.equal(subset.samples.length, 5);
    assert.deepEqual(new Set(subset.samples.map((s) => s.generator)), new Set(['A', 'B', 'C']));
    for (const count of [1, 7, 33, 99]) assert.equal(stratifiedSubset(blocks({ A: 41, B: 37, C: 13, D: 9 }), count).samples.length, count);
  });

  it('draws AGIQA-3K\'s six generators where its first 500 rows hold two', { skip: existsSync(join(AGIQA3K, 'data.csv')) ? false : `no AGIQA-3K at ${AGIQA3K}` }, () => {
    const full = loadAgiqa3k(AGIQA3K);
    assert.equal(generatorCounts({ ...full, samples: full.samples.slice(0, 500) }).length, 2, 'the first rows are two generators (what --limit takes)');
    const quick = stratifiedSubset(full, 500);
    const counts = new Map(generatorCounts(quick));
    const shares = new Map(generatorCounts(full));
    assert.equal(counts.size, 6);
    for (const [g, k] of shares) assert.ok(Math.abs(counts.get(g)! - (500 * k) / full.samples.length) <= 1, `${g}: ${counts.get(g)} of 500 against ${k} of ${full.samples.length}`);
  });
});

describe('clip-agiqa train --quick', () => {
  function dataset(dir: string): string {
    const names = ['landscape.jpg', 'portrait.jpg', 'square.png', 'wide.webp', 'grey.png', 'small-upscaled.jpg'];
    const rows = ['gan', 'diffusion', 'autoregressive'].flatMap((generator, g) => names.flatMap((n, i) => [0, 1].map((copy) => {
      const file = `${generator}-${copy}-${n}`;
      copyFileSync(join(IMAGES, n), join(dir, file));
      return `${file},${(g + i * 0.3 + copy * 0.1) % 5},prompt ${i},${generator}`;
    })));
    writeFileSync(join(dir, 'ratings.csv'), `path,mos,prompt,generator\n${rows.join('\n')}\n`);
    return join(dir, 'ratings.csv');
  }
  const train = (dir: string, extra: string[]) => spawnSync(process.execPath, [CLI, 'train', '--dataset', 'csv', '--data', join(dir, 'ratings.csv'), '--epochs', '2',
    '--report', join(dir, 'report.json'), '--cache', join(dir, 'cache'), ...extra], { encoding: 'utf8' });

  it('trains on N images across the generators, centre crop only, and prints the ETA before embedding anything', () => {
    using t = tempDir();
    dataset(t.dir);
    const r = train(t.dir, ['--quick', '--limit', '9']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /quick recipe: 9 of 36 images across generators \(autoregressive 3, diffusion 3, gan 3\), centre crop only/);
    const eta = /ETA about (\S+): 9 image-tower passes \(9 images × 1 views, less what the cache holds\) at \d+ ms, then 1 run × 2 epochs on 7 images at [\d.]+ ms per batch/.exec(r.stderr);
    assert.ok(eta, r.stderr);
    assert.ok(r.stderr.indexOf(eta[0]) < r.stderr.indexOf('embedding 9/9'), 'the ETA comes before the run');
    const report = JSON.parse(readFileSync(join(t.dir, 'report.json'), 'utf8')) as { views: number; run: { test: unknown } };
    assert.equal(report.views, 0);
    const [bundle] = readdirSync(join(t.dir, 'cache'));
    assert.deepEqual(readdirSync(join(t.dir, 'cache', bundle!)), ['test'], 'no crop views embedded');

    const again = train(t.dir, ['--quick', '--limit', '9']);
    assert.equal(again.status, 0, again.stderr);
    assert.match(again.stderr, /ETA about \S+: every embedding cached, then/);
  });

  it('refuses --views with --quick, and leaves the full recipe the default', () => {
    using t = tempDir();
    dataset(t.dir);
    const r = train(t.dir, ['--quick', '--views', '2']);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /--quick trains on the centre crop only/);
    const full = train(t.dir, ['--views', '1']);
    assert.equal(full.status, 0, full.stderr);
    assert.doesNotMatch(full.stderr, /quick recipe/);
    assert.match(full.stderr, /ETA about \S+: 72 image-tower passes \(36 images × 2 views/);
  });
});
