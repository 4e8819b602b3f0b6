import assert from 'node:assert/strict';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';

import { pearson, spearman, type RunResult } from '@clip-agiqa/train';

import { browserUnavailable, launchChromium, type HeadlessChromium } from './support/browser.js';
import { cli } from './support/cli-in-process.js';
import { IMAGES, tempDir } from './support/helpers.js';

const skip = browserUnavailable() ?? false;

/** 40 images (fixture copies), two generators, 10 prompts of 4: enough for a split with every part of the page. */
function ratings(dir: string): string {
  const names = ['landscape.jpg', 'portrait.jpg', 'square.png', 'wide.webp', 'grey.png', 'small-upscaled.jpg', 'exif-rotated.jpg', 'alpha.png'];
  const rows: string[] = [];
  for (let i = 0; i < 40; i++) {
    const file = `${i}-${names[i % names.length]}`;
    copyFileSync(join(IMAGES, names[i % names.length]!), join(dir, file));
    rows.push(`${file},${((i * 0.37) % 4 + 0.5).toFixed(3)},prompt ${i % 10},${i % 2 ? 'gen-b' : 'gen-a'}`);
  }
  writeFileSync(join(dir, 'ratings.csv'), `path,mos,prompt,generator\n${rows.join('\n')}\n`);
  return join(dir, 'ratings.csv');
}

describe('training report in headless Chromium', { skip }, () => {
  let chrome: HeadlessChromium;
  before(async () => { chrome = await launchChromium(); });
  after(async () => { await chrome?.close(); });

  it('paper protocol: curves per epoch with the selected epoch marked, scatter with the logistic fit, per-generator breakdown, selection metrics', async () => {
    using t = tempDir();
    const report = join(t.dir, 'out/run.json');
    const r = await cli(['train', '--dataset', 'csv', '--data', ratings(t.dir), '--epochs', '6', '--report', report, '--cache', join(t.dir, 'cache')]);
    assert.equal(r.status, 0, r.stderr);
    const json = JSON.parse(readFileSync(report, 'utf8')) as { run: RunResult };
    const run = json.run;
    assert.equal(run.history.length, 6);
    const last = run.history.at(-1)!;
    assert.ok(Math.abs(last.test.srcc - run.last.metrics.srcc) < 1e-12, 'the last epoch of the curve is the reported last-epoch test SRCC');

    const url = pathToFileURL(join(t.dir, 'out/run.html')).href;
    const { page, requests, errors } = await chrome.open(url);
    assert.deepEqual(requests.filter((u) => u !== url), []);
    assert.deepEqual(errors, []);
    assert.match(await page.locator('h1').innerText(), /^CLIP-AGIQA head \(clip-agiqa-mlp\) on .*ratings\.csv/);
    assert.match(await page.locator('#summary').innerText(), new RegExp(`Test SRCC ${run.last.metrics.srcc.toFixed(4)}, PLCC ${run.last.metrics.plcc.toFixed(4)} on 8 images after the last of 6 epochs`));

    const srcc = page.locator('figure[data-metric="srcc"] svg');
    assert.deepEqual(await srcc.locator('path.series').evaluateAll((ps) => ps.map((p) => p.getAttribute('data-series'))), ['train', 'test'], 'paper protocol: no validation curve');
    const segments = (await srcc.locator('path.series[data-series="test"]').getAttribute('d'))!.split(/[ML]/).filter(Boolean);
    assert.equal(segments.length, 6, 'one point per epoch');
    assert.equal(await srcc.locator('.marker').getAttribute('data-x'), '6', 'paper protocol: the last epoch is selected');
    assert.match(await srcc.locator('.marker text').textContent() ?? '', /selected: epoch 6/);
    assert.equal(await page.locator('table.epochs tbody tr').count(), 6);
    const firstRow = await page.locator('table.epochs tbody tr').first().locator('td').evaluateAll((tds) => tds.map((td) => td.textContent));
    assert.equal(firstRow[4], run.history[0]!.test.srcc.toFixed(4));

    const scatter = page.locator('figure[data-chart="scatter"] svg');
    assert.equal(await scatter.locator('circle').count(), 8, 'one point per test image');
    assert.equal(await scatter.locator('path.fit').count(), 1, 'the logistic fit is drawn');

    const byGen = new Map<string, { p: number[]; m: number[] }>();
    for (const p of run.last.predictions) {
      const g = Number(p.id.split('-')[0]) % 2 ? 'gen-b' : 'gen-a';
      const e = byGen.get(g) ?? { p: [], m: [] };
      e.p.push(p.prediction);
      e.m.push(p.mos);
      byGen.set(g, e);
    }
    const rows = await page.locator('table.breakdown tbody tr').evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent)));
    const expected = [...byGen].filter(([, e]) => e.p.length >= 3).sort(([a], [b]) => a.localeCompare(b))
      .map(([g, e]) => [g, String(e.p.length), (e.m.reduce((a, b) => a + b, 0) / e.m.length).toFixed(3), spearman(e.p, e.m).toFixed(4), pearson(e.p, e.m).toFixed(4)]);
    assert.ok(expected.length > 0);
    assert.deepEqual(rows, expected);
    assert.match(await page.locator('.selection').innerText(), new RegExp(`pairwise ranking accuracy ${run.last.selection.pairwise_accuracy.toFixed(3)}`));
    await page.close();
  });

  it('rigorous protocol: validation curves, the epoch chosen on validation marked, a mean ± std table and the other splits', async () => {
    using t = tempDir();
    const report = join(t.dir, 'rig.json');
    const r = await cli(['train', '--dataset', 'csv', '--data', ratings(t.dir), '--protocol', 'rigorous', '--splits', '2', '--epochs', '5', '--report', report, '--cache', join(t.dir, 'cache')]);
    assert.equal(r.status, 0, r.stderr);
    const json = JSON.parse(readFileSync(report, 'utf8')) as { image: RunResult[]; prompt: RunResult[] };
    const url = pathToFileURL(join(t.dir, 'rig.html')).href;
    const { page } = await chrome.open(url);
    assert.deepEqual(await page.locator('table.aggregate tbody tr td:first-child').allInnerTexts(), ['image-level', 'prompt-disjoint']);
    assert.equal(await page.locator('section.run').count(), 2, 'the first split of each kind in full');
    const first = page.locator('section.run').first();
    assert.deepEqual(await first.locator('figure[data-metric="srcc"] path.series').evaluateAll((ps) => ps.map((p) => p.getAttribute('data-series'))), ['train', 'validation', 'test']);
    assert.equal(await first.locator('figure[data-metric="srcc"] .marker').getAttribute('data-x'), String(json.image[0]!.selected!.epoch));
    assert.equal(await page.locator('#other-runs tbody tr').count(), 2);
    await page.close();
  });
});
