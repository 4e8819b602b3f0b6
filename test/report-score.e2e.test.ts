import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';

import type { ScoreRecord } from '@clip-agiqa/core';
import { buildScoreReport, modelKind, parseScoreRecords } from '@clip-agiqa/report';
import type { Page } from 'playwright-core';
import sharp from 'sharp';

import { browserUnavailable, launchChromium, type HeadlessChromium } from './support/browser.js';
import { cli } from './support/cli-in-process.js';
import { cli as cliProcess } from './support/cli-process.js';
import { IMAGES, tempDir } from './support/helpers.js';

const skip = browserUnavailable() ?? false;
const shots = tempDir('clip-agiqa-report-shots-');

/** The CLI as a process working in `dir` (saved records hold paths relative to it). */
const cliIn = (dir: string, args: string[]) => cliProcess(args, {}, dir);

/** Only the page itself and data: URIs: a report must reach nothing else. */
function assertOffline(requests: string[], url: string): void {
  assert.deepEqual(requests.filter((r) => r !== url && !r.startsWith('data:')), []);
}

type Dataset = { dataset: Record<string, string | undefined> };
const texts = (page: Page, selector: string) => page.$$eval(selector, (els) => els.map((e) => e.textContent?.trim() ?? ''));
const scores = (page: Page, selector: string) => page.$$eval(selector, (els) => els.map((e) => Number((e as unknown as Dataset).dataset.score)));

/** The x of value v on a histogram, from the axis the SVG declares. */
async function histogramX(page: Page, head: string, v: number): Promise<number> {
  const a = await page.$eval(`figure[data-head="${head}"] svg`, (s) => ({ ...(s as unknown as Dataset).dataset }));
  const [lo, hi, left, right] = [a.lo, a.hi, a.plotLeft, a.plotRight].map(Number) as [number, number, number, number];
  return left + ((v - lo) / (hi - lo)) * (right - left);
}

describe('model stamp', () => {
  it('tells untrained, zero-shot and trained apart by the head\'s provenance', () => {
    assert.equal(modelKind({ untrained: true }, { provenance: 'trained' }), 'untrained');
    assert.equal(modelKind({ untrained: false }, { provenance: 'zero-shot' }), 'zero-shot');
    assert.equal(modelKind({ untrained: false }, { provenance: 'untrained' }), 'untrained');
    assert.equal(modelKind({ untrained: false }, { provenance: 'trained' }), 'trained');
    assert.equal(modelKind({ untrained: false }), 'trained');
  });
});

describe('score report thumbnails', () => {
  const records: ScoreRecord[] = ['square.png', 'wide.webp', 'landscape.jpg'].map((f, i) => ({ path: join(IMAGES, f), scores: { quality: 3 - i } }));
  const embedded = (html: string) => html.match(/src="data:image\/webp;base64,/g)?.length ?? 0;

  it('embeds at most maxCount thumbnails, best first, and says how many are left out', async () => {
    const html = await buildScoreReport({ records }, { maxCount: 2 });
    assert.equal(embedded(html), 2);
    assert.match(html, /<figure class="card ranked" data-rank="3"[^>]*>(?:(?!<img).)*beyond the thumbnail cap/s, 'the lowest-ranked one goes without');
    assert.match(html, /1 of 3 images have no thumbnail: a report embeds at most 2 thumbnails/);
  });

  it('keeps to the byte budget and never exceeds 256 px', async () => {
    assert.equal(embedded(await buildScoreReport({ records }, { maxBytes: 100 })), 0);
    const big = await buildScoreReport({ records }, { size: 4096 });
    const sides = [...big.matchAll(/<img [^>]*width="(\d+)" height="(\d+)"/g)].map((m) => Math.max(Number(m[1]), Number(m[2])));
    assert.equal(sides.length, 3);
    assert.ok(sides.every((s) => s <= 256), sides.join(','));
  });

  it('renders no SVG or PDF: they could reach outside the page', async () => {
    using t = tempDir();
    const svg = join(t.dir, 'x.svg');
    writeFileSync(svg, '<svg xmlns="http://www.w3.org/2000/svg" width="9" height="9"><image href="http://example.com/x.png"/></svg>');
    const html = await buildScoreReport({ records: [{ path: svg, scores: { quality: 1 } }] });
    assert.equal(embedded(html), 0);
    assert.match(html, /svg is not rendered/);
  });
});

describe('score report in headless Chromium', { skip }, () => {
  let chrome: HeadlessChromium;
  before(async () => { chrome = await launchChromium(); });
  after(async () => { await chrome?.close(); shots[Symbol.dispose](); });

  it('score --html: ranked passed and rejected sheets, the threshold line where the threshold is, failed rows with codes', async () => {
    using t = tempDir();
    for (const f of ['landscape.jpg', 'portrait.jpg', 'square.png', 'wide.webp', 'grey.png', 'exif-rotated.jpg']) copyFileSync(join(IMAGES, f), join(t.dir, f));
    writeFileSync(join(t.dir, 'truncated.jpg'), readFileSync(join(IMAGES, 'landscape.jpg')).subarray(0, 15000));
    writeFileSync(join(t.dir, 'notes.png'), 'not a picture\n');
    const probe = await cli(['score', '--json', '--no-progress', t.dir]);
    const all = parseScoreRecords(probe.stdout, 'probe');
    const sorted = all.flatMap((r) => ('scores' in r ? [r.scores.quality!] : [])).sort((a, b) => b - a);
    const threshold = (sorted[2]! + sorted[3]!) / 2;

    const html = join(t.dir, 'out/report.html');
    const r = await cli(['score', '--json', '--no-progress', '--threshold', String(threshold), '--html', html, t.dir]);
    assert.equal(r.status, 1, r.stderr);
    const records = parseScoreRecords(r.stdout, 'stdout');
    const url = pathToFileURL(html).href;
    const { page, requests, errors } = await chrome.open(url);
    assertOffline(requests, url);
    assert.deepEqual(errors, []);

    assert.equal(await page.locator('#passed .card').count(), 3);
    assert.equal(await page.locator('#rejected .card').count(), 3);
    const passedScores = await scores(page, '#passed .card');
    const rejectedScores = await scores(page, '#rejected .card');
    assert.deepEqual([...passedScores, ...rejectedScores], sorted, 'cards best first, passed before rejected');
    assert.ok(passedScores.every((s) => s >= threshold) && rejectedScores.every((s) => s < threshold));
    for (const rec of records) {
      if (!('scores' in rec)) continue;
      const section = rec.passed ? '#passed' : '#rejected';
      assert.equal(await page.locator(`${section} .card[data-path="${rec.path}"]`).count(), 1, `${rec.path} in ${section} as score --json says`);
    }
    assert.equal(await page.locator('#passed .card img[src^="data:image/webp;base64,"]').count(), 3);
    assert.match((await page.locator('#passed .card img').first().getAttribute('alt'))!, /quality \d\.\d{3}, rank 1$/);

    const line = page.locator('figure[data-head="quality"] .cut[data-kind="threshold"] line');
    assert.equal(await line.count(), 1);
    assert.ok(Math.abs(Number(await line.getAttribute('x1')) - await histogramX(page, 'quality', threshold)) < 0.11);
    const bars = await page.$$eval('figure[data-head="quality"] rect.bar', (rs) => rs.reduce((n, r) => n + Number(r.querySelector('title')!.textContent!.split(': ')[1]), 0));
    assert.equal(bars, 6, 'the histogram counts every scored image');

    const failedCodes = records.flatMap((x) => ('error' in x ? [x.error.code] : []));
    assert.deepEqual(failedCodes.sort(), ['CORRUPT_IMAGE', 'UNSUPPORTED_FORMAT']);
    assert.deepEqual(await texts(page, '#failed-table tbody tr td:nth-child(2)'), records.flatMap((x) => ('error' in x ? [x.error.code] : [])));
    assert.equal(await page.locator('#scores-table tbody tr').count(), 6);
    assert.deepEqual((await texts(page, '#scores-table tbody tr td:first-child')).map(Number), [1, 2, 3, 4, 5, 6]);
    assert.match(await page.locator('#summary').innerText(), /^6 scored, 2 failed in .*3 passed/);
    assert.match(await page.locator('.stamp').innerText(), /UNTRAINED/);
    assert.match(await page.locator('.stamp').innerText(), /sha256:[0-9a-f]{16}/);

    await page.fill('#filter', 'wide');
    assert.equal(await page.locator('.card:visible').count(), 1, 'the filter box hides the other cards');
    await page.screenshot({ path: join(shots.dir, 'score.png'), fullPage: true });
    await page.close();
  });

  it('sorts the contact sheet and the table by another head, and shows prompts as text with the whole one on hover', async () => {
    using t = tempDir();
    const prompt = 'a <b>red</b> square & "friends"';
    const long = 'an ornate gothic cathedral interior, '.repeat(12);
    const records: ScoreRecord[] = [
      { path: join(IMAGES, 'square.png'), scores: { quality: 4, clipscore: 0.4 }, prompt },
      { path: join(IMAGES, 'wide.webp'), scores: { quality: 3, clipscore: 0.9 }, prompt: long },
      { path: join(IMAGES, 'portrait.jpg'), scores: { quality: 2 } },
      { path: join(IMAGES, 'landscape.jpg'), scores: { quality: 1, clipscore: 0.7 }, prompt },
    ];
    const file = join(t.dir, 'heads.html');
    writeFileSync(file, await buildScoreReport({ records, heads: [{ name: 'quality' }, { name: 'clipscore', scoreRange: [0, 2.5] }] }));
    const url = pathToFileURL(file).href;
    const { page, requests, errors } = await chrome.open(url);
    assertOffline(requests, url);
    assert.deepEqual(errors, []);
    const cardPaths = () => page.$$eval('#ranked .card', (els) => els.map((e) => (e as unknown as Dataset).dataset.path!.split('/').pop()));
    const rowPaths = () => page.$$eval('#scores-table tbody tr .path', (els) => els.map((e) => e.textContent!.split('/').pop()));
    const byQuality = ['square.png', 'wide.webp', 'portrait.jpg', 'landscape.jpg'];
    assert.deepEqual(await cardPaths(), byQuality, 'the first head orders the sheet at first');
    assert.equal(await page.locator('#sort').inputValue(), 'rank');

    await page.selectOption('#sort', 'head:clipscore');
    const byClipscore = ['wide.webp', 'landscape.jpg', 'square.png', 'portrait.jpg'];
    assert.deepEqual(await cardPaths(), byClipscore, 'best clipscore first; the image it did not score last');
    assert.deepEqual(await rowPaths(), byClipscore);
    await page.selectOption('#sort', 'rank');
    assert.deepEqual(await cardPaths(), byQuality);

    const first = page.locator('#ranked .card').first();
    assert.equal(await first.locator('.prompt').innerText(), prompt, 'the prompt reads as text, its markup inert');
    assert.equal(await first.locator('.heads [data-head="clipscore"] dd').innerText(), '0.400');
    const cut = page.locator('.card[data-path$="wide.webp"] .prompt');
    assert.equal(await cut.getAttribute('title'), long);
    const clamp = await cut.evaluate((el) => ({ shown: el.clientHeight, whole: el.scrollHeight }));
    assert.ok(clamp.whole > clamp.shown * 1.5, `a long prompt is clamped on its card (${JSON.stringify(clamp)})`);
    await page.screenshot({ path: join(shots.dir, 'score-heads.png'), fullPage: true });
    await page.close();
  });

  it('reads without JavaScript: the sheets, table and charts are in the HTML; only the controls need the script', async () => {
    using t = tempDir();
    const records: ScoreRecord[] = [
      { path: join(IMAGES, 'square.png'), scores: { quality: 4 } },
      { path: join(IMAGES, 'wide.webp'), scores: { quality: 2 } },
      { path: join(t.dir, 'gone.png'), scores: { quality: 3 } },
      { path: join(IMAGES, 'landscape.jpg'), error: { code: 'CORRUPT_IMAGE', message: 'truncated' } },
    ];
    const file = join(t.dir, 'r.html');
    writeFileSync(file, await buildScoreReport({ records, cut: { topK: 2 } }));
    const page = await chrome.context.newPage();
    const cdp = await chrome.context.newCDPSession(page);
    await cdp.send('Emulation.setScriptExecutionDisabled', { value: true });
    await page.goto(pathToFileURL(file).href);
    assert.equal(await page.locator('#controls').isHidden(), true, 'no dead controls without the script');
    assert.deepEqual(await scores(page, '#passed .card'), [4, 3]);
    assert.deepEqual(await scores(page, '#rejected .card'), [2]);
    assert.match(await page.locator('.card[data-score="3"] .noimg').innerText(), /no longer at this path/);
    assert.match(await page.locator('.note').innerText(), /1 images are no longer at their recorded path/);
    const cut = page.locator('.cut[data-kind="top-k"] line');
    assert.ok(Math.abs(Number(await cut.getAttribute('x1')) - await histogramX(page, 'quality', 2.5)) < 0.11, 'top-2 cut between ranks 2 and 3');
    assert.equal(await page.locator('#failed-table tbody tr').count(), 1);
    assert.equal(await page.locator('svg[role="img"] > title').count(), 1);
    await page.close();
  });

  it('report RESULTS.jsonl: rebuilds the page from saved lines, finds moved images beside the file, refuses bad lines', async () => {
    using t = tempDir();
    mkdirSync(join(t.dir, 'imgs'));
    for (const f of ['square.png', 'wide.webp', 'portrait.jpg', 'grey.png']) copyFileSync(join(IMAGES, f), join(t.dir, 'imgs', f));
    const r = await cliIn(t.dir, ['score', '--json', '--no-progress', 'imgs']);
    assert.equal(r.status, 0, r.stderr);
    mkdirSync(join(t.dir, 'saved'));
    writeFileSync(join(t.dir, 'saved/results.jsonl'), r.stdout);
    renameSync(join(t.dir, 'imgs'), join(t.dir, 'saved/imgs'));

    const out = join(t.dir, 'page.html');
    const made = await cliIn(t.dir, ['report', 'saved/results.jsonl', '--html', out, '--top-percent', '50', '--title', 'Saved run']);
    assert.equal(made.status, 0, made.stderr);
    const url = pathToFileURL(out).href;
    const { page, requests } = await chrome.open(url);
    assertOffline(requests, url);
    assert.equal(await page.title(), 'Saved run');
    assert.equal(await page.locator('#passed .card img').count(), 2, 'images found beside the results file');
    assert.equal(await page.locator('#rejected .card').count(), 2);
    assert.equal(await page.locator('.cut[data-kind="top-percent"]').count(), 1);
    await page.close();

    writeFileSync(join(t.dir, 'bad.jsonl'), `${r.stdout.split('\n')[0]}\n{"path": 3}\nnot json\n`);
    const bad = await cliIn(t.dir, ['report', 'bad.jsonl', '--html', out]);
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /\[SCHEMA_VIOLATION\] bad\.jsonl: 2 bad lines: line 2: not a score record .*line 3: not JSON/);
    assert.equal((await cliIn(t.dir, ['report', 'saved/results.jsonl'])).status, 2, '--html is required');
  });

  it('500 images: under 6 MB and open in under 3 s (load event), thumbnails capped at 256 px', async () => {
    using t = tempDir();
    const records: ScoreRecord[] = [];
    for (let i = 0; i < 500; i++) {
      const path = join(t.dir, `img-${String(i).padStart(3, '0')}.jpg`);
      // Blurred seeded noise over a colour ramp: thumbnails about as hard to compress as real renders.
      const w = 384;
      const h = 256;
      const px = Buffer.alloc(w * h * 3);
      let seed = i + 1;
      for (let k = 0; k < px.length; k++) {
        seed = (seed * 1103515245 + 12345) & 0x7fffffff;
        px[k] = ((k % 3) * 60 + ((k / 3) % w) * 0.4 + (i % 40) * 3 + (seed >> 16) % 90) & 0xff;
      }
      await sharp(px, { raw: { width: w, height: h, channels: 3 } }).blur(1.2).jpeg({ quality: 90 }).toFile(path);
      records.push(i % 50 === 7 ? { path, error: { code: 'CORRUPT_IMAGE', message: 'truncated' } } : { path, scores: { quality: ((i * 7919) % 500) / 100 } });
    }
    const file = join(t.dir, 'big.html');
    writeFileSync(file, await buildScoreReport({ records, cut: { threshold: 2.5 }, heads: [{ name: 'quality', scoreRange: [0, 5] }] }));
    const bytes = statSync(file).size;
    assert.ok(bytes < 6e6, `500-image report is ${bytes} bytes`);
    const page = await chrome.context.newPage();
    const started = performance.now();
    await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
    const ms = performance.now() - started;
    assert.ok(ms < 3000, `opened in ${ms.toFixed(0)} ms`);
    assert.equal(await page.locator('.card').count(), 490);
    assert.equal(await page.locator('#failed-table tbody tr').count(), 10);
    const widest = await page.$$eval('.card img', (imgs) => Math.max(...imgs.map((i) => Math.max(Number(i.getAttribute('width')), Number(i.getAttribute('height'))))));
    assert.ok(widest <= 256);
    process.stderr.write(`# 500-image report: ${(bytes / 1e6).toFixed(2)} MB, load in ${ms.toFixed(0)} ms\n`);
    await page.close();
  });
});
