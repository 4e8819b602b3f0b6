import assert from 'node:assert/strict';
import { copyFileSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import { PAPER_VIEWS } from '@clip-agiqa/train';

import { cli } from './support/cli-in-process.js';
import { IMAGES, tempDir } from './support/helpers.js';

async function train(dir: string, extra: string[]): Promise<{ views: number; viewFolders: string[] }> {
  const report = join(dir, `report${extra.join('')}.json`);
  const cache = join(dir, `cache${extra.join('')}`);
  const r = await cli(['train', '--dataset', 'csv', '--data', join(dir, 'ratings.csv'), '--epochs', '2', '--report', report, '--cache', cache, ...extra]);
  assert.equal(r.status, 0, r.stderr);
  const [bundleCache] = readdirSync(cache);
  const viewFolders = readdirSync(join(cache, bundleCache!)).filter((f) => f.startsWith('train-')).sort();
  return { views: (JSON.parse(readFileSync(report, 'utf8')) as { views: number }).views, viewFolders };
}

describe('clip-agiqa train: training views by default', () => {
  it(`trains the paper protocol on ${PAPER_VIEWS} cached random-resized-crop views, the rigorous one on the centre crop`, async () => {
    using t = tempDir();
    const names = ['landscape.jpg', 'portrait.jpg', 'square.png', 'wide.webp', 'grey.png', 'small-upscaled.jpg'];
    const files = [0, 1, 2, 3, 4].flatMap((copy) => names.map((n) => `${copy}-${n}`));
    for (const f of files) copyFileSync(join(IMAGES, f.slice(2)), join(t.dir, f));
    writeFileSync(join(t.dir, 'ratings.csv'), `path,mos,prompt\n${files.map((n, i) => `${n},${(i * 0.41) % 5},prompt ${i % 10}`).join('\n')}\n`);

    assert.equal(PAPER_VIEWS, 10);
    const paper = await train(t.dir, []);
    assert.equal(paper.views, PAPER_VIEWS);
    assert.deepEqual(paper.viewFolders, Array.from({ length: PAPER_VIEWS }, (_, v) => `train-s0-v${v}`).sort());

    const rigorous = await train(t.dir, ['--protocol', 'rigorous', '--splits', '1']);
    assert.equal(rigorous.views, 0);
    assert.deepEqual(rigorous.viewFolders, []);

    const centre = await train(t.dir, ['--views', '0']);
    assert.equal(centre.views, 0);
  });
});
