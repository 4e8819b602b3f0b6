import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import { scoreRecordSchema, type ScoreRecord } from '@clip-agiqa/core';
import { compileSchema } from '@clip-agiqa/core/internal';
import sharp from 'sharp';

import { cli } from './support/cli-in-process.js';
import { CLI, IMAGES, ROOT, tempDir, writePngBomb } from './support/helpers.js';

const validateRecord = compileSchema<ScoreRecord>(scoreRecordSchema);

/** The CLI in its own process under /usr/bin/time, for the one check that is about the process: its peak memory. */
function cliProcess(args: string[]): { status: number | null; stdout: string; stderr: string; maxRssKb: number | null } {
  const timed = existsSync('/usr/bin/time');
  const cmd = timed ? '/usr/bin/time' : process.execPath;
  const argv = timed ? ['-f', 'MAXRSS %M', process.execPath, CLI, ...args] : [CLI, ...args];
  const r = spawnSync(cmd, argv, { cwd: ROOT, encoding: 'utf8', env: { ...process.env, FORCE_COLOR: '0' } });
  const rss = /MAXRSS (\d+)/.exec(r.stderr);
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, maxRssKb: rss ? Number(rss[1]) : null };
}

function records(stdout: string): ScoreRecord[] {
  return stdout.trim().split('\n').filter(Boolean).map((line) => {
    const value = JSON.parse(line) as unknown;
    const v = validateRecord(value);
    assert.ok(v.ok, `record does not match the schema: ${line} ${v.ok ? '' : v.errors.join('; ')}`);
    return value as ScoreRecord;
  });
}

function goodImages(dir: string): void {
  for (const name of ['landscape.jpg', 'square.png', 'wide.webp', 'portrait.jpg']) copyFileSync(join(IMAGES, name), join(dir, name));
}

describe('clip-agiqa score', () => {
  it('scores the good images of a folder, reports every bad one, exits 1, with bounded memory', async () => {
    using t = tempDir();
    goodImages(t.dir);
    mkdirSync(join(t.dir, 'nested'));
    copyFileSync(join(IMAGES, 'grey.png'), join(t.dir, 'nested/grey.png'));
    writeFileSync(join(t.dir, 'truncated.jpg'), readFileSync(join(IMAGES, 'landscape.jpg')).subarray(0, 15000));
    writeFileSync(join(t.dir, 'empty.jpg'), '');
    writeFileSync(join(t.dir, 'notes.png'), 'these are my notes, not a picture\n');
    writeFileSync(join(t.dir, 'vector.svg'), '<svg xmlns="http://www.w3.org/2000/svg" width="9" height="9"><image href="file:///etc/passwd"/></svg>');
    await writePngBomb(join(t.dir, 'bomb.png'), 30000, 30000);
    writeFileSync(join(t.dir, 'readme.txt'), 'folders are walked for image extensions only');

    const r = cliProcess(['score', '--json', t.dir]);
    assert.equal(r.status, 1, r.stderr);
    const byName = new Map(records(r.stdout).map((rec) => [rec.path.slice(t.dir.length + 1), rec]));
    assert.deepEqual([...byName.keys()].sort(), ['bomb.png', 'empty.jpg', 'landscape.jpg', 'nested/grey.png', 'notes.png', 'portrait.jpg', 'square.png', 'truncated.jpg', 'vector.svg', 'wide.webp']);
    const code = (name: string) => { const rec = byName.get(name)!; return 'error' in rec ? rec.error.code : 'scored'; };
    assert.equal(code('truncated.jpg'), 'CORRUPT_IMAGE');
    assert.equal(code('empty.jpg'), 'EMPTY_INPUT');
    assert.equal(code('notes.png'), 'UNSUPPORTED_FORMAT');
    assert.equal(code('vector.svg'), 'UNSAFE_FORMAT');
    assert.equal(code('bomb.png'), 'TOO_MANY_PIXELS');
    for (const good of ['landscape.jpg', 'square.png', 'wide.webp', 'portrait.jpg', 'nested/grey.png']) assert.equal(code(good), 'scored');
    assert.match(r.stderr, /model clip-agiqa-tiny-untrained is UNTRAINED \(random weights\): its scores mean nothing \(no --model given: the demo model\)/);
    assert.match(r.stderr, /5 scored, 5 failed/);
    if (r.maxRssKb !== null) assert.ok(r.maxRssKb < 600_000, `peak RSS ${r.maxRssKb} kB: the bomb must not be decoded`);
  });

  it('exits 0 when everything scored, prints records in input order, and matches the API', async () => {
    using t = tempDir();
    goodImages(t.dir);
    const r = await cli(['score', '--json', '--batch-size', '2', join(t.dir, 'wide.webp'), join(t.dir, 'landscape.jpg'), t.dir]);
    assert.equal(r.status, 0, r.stderr);
    const recs = records(r.stdout);
    assert.deepEqual(recs.map((x) => x.path.slice(t.dir.length + 1)), ['wide.webp', 'landscape.jpg', 'portrait.jpg', 'square.png']);
  });

  it('marks images against a threshold, ranks the top K, and writes CSV', async () => {
    using t = tempDir();
    goodImages(t.dir);
    const all = records((await cli(['score', '--json', t.dir])).stdout) as Extract<ScoreRecord, { scores: unknown }>[];
    const sorted = [...all].sort((a, b) => b.scores.quality! - a.scores.quality!);
    const threshold = (sorted[1]!.scores.quality! + sorted[2]!.scores.quality!) / 2;

    const marked = records((await cli(['score', '--json', '--threshold', String(threshold), t.dir])).stdout);
    assert.deepEqual(marked.filter((x) => 'passed' in x && x.passed).map((x) => x.path).sort(), sorted.slice(0, 2).map((x) => x.path).sort());

    const csvPath = join(t.dir, 'out.csv');
    const top = await cli(['score', '--json', '--top', '3', '--csv', csvPath, t.dir]);
    assert.equal(top.status, 0, top.stderr);
    const ranked = records(top.stdout);
    assert.deepEqual(ranked.map((x) => x.path), sorted.slice(0, 3).map((x) => x.path));
    assert.deepEqual(ranked.map((x) => ('rank' in x ? x.rank : 0)), [1, 2, 3]);
    const csv = readFileSync(csvPath, 'utf8').trim().split('\n');
    assert.equal(csv[0], 'path,quality,rank,error_code,error_message');
    assert.equal(csv.length, 4);
    assert.equal(Number(csv[1]!.split(',')[1]), sorted[0]!.scores.quality);
  });

  it('writes sidecars, and scores into PNG/JPEG metadata without touching the pixels', async () => {
    using t = tempDir();
    goodImages(t.dir);
    const out = join(t.dir, 'scored');
    const r = await cli(['score', '--json', '--sidecar', '--write-metadata', '--out-dir', out, join(t.dir, 'square.png'), join(t.dir, 'landscape.jpg'), join(t.dir, 'wide.webp')]);
    assert.equal(r.status, 1, 'WebP metadata cannot be written losslessly: reported, exit 1');
    assert.match(r.stderr, /wide\.webp: could not record scores: cannot write metadata into webp/);
    const recs = new Map(records(r.stdout).map((x) => [x.path, x]));

    for (const name of ['square.png', 'landscape.jpg', 'wide.webp']) {
      const sidecar = JSON.parse(readFileSync(join(t.dir, `${name}.agiqa.json`), 'utf8')) as ScoreRecord;
      assert.ok(validateRecord(sidecar).ok);
      assert.deepEqual((sidecar as { scores: unknown }).scores, (recs.get(join(t.dir, name)) as { scores: unknown }).scores);
      assert.equal((sidecar as { model: { trained: boolean } }).model.trained, false);
    }
    // Inputs outside the working folder land in --out-dir by their file name.
    const copyPng = join(out, 'square.png');
    const copyJpg = join(out, 'landscape.jpg');
    const xmp = (await sharp(copyJpg).metadata()).xmp?.toString('utf8') ?? '';
    assert.match(xmp, /<agiqa:record>\{&quot;path&quot;/);
    for (const [orig, copy] of [[join(t.dir, 'square.png'), copyPng], [join(t.dir, 'landscape.jpg'), copyJpg]] as const) {
      const a = await sharp(orig).raw().toBuffer();
      const b = await sharp(copy).raw().toBuffer();
      assert.ok(a.equals(b), `${copy}: pixels changed`);
    }
    assert.ok(!readFileSync(join(t.dir, 'square.png')).includes('clip-agiqa'), 'originals untouched without --in-place');

    const again = await cli(['score', '--write-metadata', '--in-place', join(t.dir, 'square.png')]);
    assert.equal(again.status, 0, again.stderr);
    const twice = await cli(['score', '--write-metadata', '--in-place', join(t.dir, 'square.png')]);
    assert.equal(twice.status, 0, twice.stderr);
    const png = readFileSync(join(t.dir, 'square.png'));
    assert.equal(png.toString('latin1').split('iTXtclip-agiqa').length - 1, 1, 'scoring again replaces the record');
    assert.ok((await sharp(png).raw().toBuffer()).equals(await sharp(join(IMAGES, 'square.png')).raw().toBuffer()));
  });

  it('takes globs and prints a readable table without --json', async () => {
    const r = await cli(['score', 'test/fixtures/images/*.jpg']);
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    assert.equal(lines.length, 5);
    for (const line of lines) assert.match(line, /^\s*\d\.\d{4}\s+test\/fixtures\/images\/\S+\.jpg$/);
  });

  it('answers usage errors with exit 2', async () => {
    for (const args of [['score'], ['score', '--top', 'x', 'test'], ['score', '--device', 'tpu', 'test'], ['score', 'no/such/path'], ['frobnicate'], ['score', '--bogus', 'test'], ['score', '--write-metadata', 'test']]) {
      const r = await cli(args);
      assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, /clip-agiqa: /);
    }
  });

  it('reports an unusable model clearly', async () => {
    using t = tempDir();
    const r = await cli(['score', '--model', t.dir, join(IMAGES, 'landscape.jpg')]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /\[BUNDLE_NOT_FOUND\]/);
    const d = await cli(['score', '--device', 'cuda', join(IMAGES, 'landscape.jpg')]);
    assert.ok(d.status === 0 || /\[DEVICE_UNAVAILABLE\] device cuda is not available/.test(d.stderr), d.stderr);
  });
});

describe('clip-agiqa info', () => {
  it('describes the demo bundle, flagged untrained, with verified checksums', async () => {
    const r = await cli(['info']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /clip-agiqa-tiny-untrained\s+\[model clip-agiqa-tiny-untrained is UNTRAINED \(random weights\): its scores mean nothing\]/);
    assert.match(r.stdout, /quality\s+clip-agiqa-mlp, scale \[0, 5\], higher is better; untrained/);
    assert.match(r.stdout, /image_encoder\.onnx\s+\d+ B\s+[0-9a-f]{64}/);
    const json = JSON.parse((await cli(['info', '--json'])).stdout) as { untrained: boolean; manifest: { name: string } };
    assert.equal(json.untrained, true);
    assert.equal(json.manifest.name, 'clip-agiqa-tiny-untrained');
  });
});

describe('clip-agiqa train', () => {
  it('trains with the paper protocol, writes a report and a bundle that scores the test images as evaluated', async () => {
    using t = tempDir();
    const names = ['landscape.jpg', 'portrait.jpg', 'square.png', 'wide.webp', 'grey.png', 'small-upscaled.jpg', 'exif-rotated.jpg', 'alpha.png', 'animated.gif', 'grey16.png'];
    const files = [0, 1, 2].flatMap((copy) => names.map((n) => `${copy}-${n}`));
    for (const f of files) copyFileSync(join(IMAGES, f.slice(2)), join(t.dir, f));
    writeFileSync(join(t.dir, 'ratings.csv'), `path,mos,prompt\n${files.map((n, i) => `${n},${(i * 0.37) % 5},prompt ${i % 15}`).join('\n')}\n`);
    const out = join(t.dir, 'trained');
    const report = join(t.dir, 'report.json');
    const r = await cli(['train', '--dataset', 'csv', '--data', join(t.dir, 'ratings.csv'), '--epochs', '3', '--views', '1', '--out', out, '--report', report, '--cache', join(t.dir, 'cache')]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /Protocol `paper`: one image-level 80\/20 split \(seed 42\)/);
    const json = JSON.parse(readFileSync(report, 'utf8')) as { run: { last: { predictions: { id: string; prediction: number }[] } } };
    assert.ok(readFileSync(report.replace(/json$/, 'md'), 'utf8').startsWith('# CLIP-AGIQA head'));
    const predictions = json.run.last.predictions;
    assert.equal(predictions.length, 6);
    const scored = records((await cli(['score', '--json', '--model', out, ...predictions.map((p) => join(t.dir, p.id))])).stdout);
    predictions.forEach((p, i) => {
      const rec = scored[i]!;
      assert.ok('scores' in rec && Math.abs(rec.scores.quality! - p.prediction) < 1e-9, `${p.id}: ${JSON.stringify(rec)} vs ${p.prediction}`);
    });
    const evaluated = await cli(['eval', '--model', out, '--dataset', 'csv', '--data', join(t.dir, 'ratings.csv'), '--split', 'paper',
      '--report', join(t.dir, 'eval.json'), '--cache', join(t.dir, 'cache')]);
    assert.equal(evaluated.status, 0, evaluated.stderr);
    const paper = JSON.parse(readFileSync(report, 'utf8')) as { run: { last: { metrics: { srcc: number; plcc: number } } } };
    const again = JSON.parse(readFileSync(join(t.dir, 'eval.json'), 'utf8')) as { metrics: { srcc: number; plcc: number } };
    assert.equal(again.metrics.srcc, paper.run.last.metrics.srcc, 'eval on the paper split reproduces the training report');
    assert.equal(again.metrics.plcc, paper.run.last.metrics.plcc);
    const embedded = await cli(['embed', '--dataset', 'csv', '--data', join(t.dir, 'ratings.csv'), '--views', '1', '--cache', join(t.dir, 'cache')]);
    assert.equal(embedded.status, 0, embedded.stderr);
    assert.match(embedded.stdout, /30 images embedded \(dim 64, 2 views\)/);
    assert.match(embedded.stderr, /embedding 30\/30 \(30 cached\)/);
    // Without --views, embed fills exactly what train's paper protocol reads by default: train then embeds nothing.
    const byDefault = await cli(['embed', '--dataset', 'csv', '--data', join(t.dir, 'ratings.csv'), '--cache', join(t.dir, 'cache')]);
    assert.equal(byDefault.status, 0, byDefault.stderr);
    assert.match(byDefault.stdout, /30 images embedded \(dim 64, 11 views\)/);
    const reuse = await cli(['train', '--dataset', 'csv', '--data', join(t.dir, 'ratings.csv'), '--epochs', '1', '--report', join(t.dir, 'again.json'), '--cache', join(t.dir, 'cache')]);
    assert.equal(reuse.status, 0, reuse.stderr);
    assert.match(reuse.stderr, /embedding 30\/30 \(30 cached\)/);
    const info = (await cli(['info', '--model', out])).stdout;
    assert.match(info, /quality\s+clip-agiqa-mlp, scale \[0(\.\d+)?, 4\.\d+\], higher is better; csv|ratings\.csv/);

    const rigorous = await cli(['train', '--dataset', 'csv', '--data', join(t.dir, 'ratings.csv'), '--protocol', 'rigorous', '--splits', '2', '--epochs', '2', '--report', join(t.dir, 'rig.json'), '--cache', join(t.dir, 'cache')]);
    assert.equal(rigorous.status, 0, rigorous.stderr);
    assert.match(rigorous.stdout, /\| image-level \| 2 \|/);
    assert.match(rigorous.stdout, /\| prompt-disjoint \| 2 \|/);
  });

  it('trains the anchored head and writes a bundle that scores as evaluated', async () => {
    using t = tempDir();
    const names = ['landscape.jpg', 'portrait.jpg', 'square.png', 'wide.webp', 'grey.png', 'small-upscaled.jpg', 'exif-rotated.jpg', 'alpha.png'];
    const files = [0, 1].flatMap((copy) => names.map((n) => `${copy}-${n}`));
    for (const f of files) copyFileSync(join(IMAGES, f.slice(2)), join(t.dir, f));
    writeFileSync(join(t.dir, 'ratings.csv'), `path,mos\n${files.map((n, i) => `${n},${1 + ((i * 0.61) % 4)}`).join('\n')}\n`);
    const out = join(t.dir, 'anchored');
    const report = join(t.dir, 'report.json');
    const r = await cli(['train', '--dataset', 'csv', '--data', join(t.dir, 'ratings.csv'), '--head', 'anchored', '--categories', 'overall,aesthetic,lighting',
      '--epochs', '3', '--out', out, '--report', report, '--cache', join(t.dir, 'cache')]);
    assert.equal(r.status, 0, r.stderr);
    const json = JSON.parse(readFileSync(report, 'utf8')) as { head: string; run: { last: { predictions: { id: string; prediction: number }[] } } };
    assert.equal(json.head, 'clip-agiqa-anchored');
    const scored = records((await cli(['score', '--json', '--model', out, ...json.run.last.predictions.map((p) => join(t.dir, p.id))])).stdout);
    json.run.last.predictions.forEach((p, i) => {
      const rec = scored[i]!;
      assert.ok('scores' in rec && Math.abs(rec.scores.quality! - p.prediction) < 1e-9, `${p.id}: ${JSON.stringify(rec)} vs ${p.prediction}`);
    });
    const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as { heads: { kind: string; categories: string[] }[] };
    assert.deepEqual(manifest.heads.map((h) => [h.kind, h.categories]), [['clip-agiqa-anchored', ['overall', 'aesthetic', 'lighting']]]);
    assert.equal((await cli(['train', '--dataset', 'csv', '--data', join(t.dir, 'ratings.csv'), '--head', 'linear'])).status, 2);
    assert.equal((await cli(['train', '--dataset', 'csv', '--data', join(t.dir, 'ratings.csv'), '--head', 'anchored', '--categories', 'a,a'])).status, 2);
  });

  it('reports every problem of a broken dataset, or one too small for the protocol, and exits 1', async () => {
    using t = tempDir();
    writeFileSync(join(t.dir, 'ratings.csv'), 'path,mos\nmissing.jpg,3\nother.jpg,abc\n');
    const r = await cli(['train', '--dataset', 'csv', '--data', join(t.dir, 'ratings.csv')]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /2 problems:[\s\S]*missing\.jpg is missing[\s\S]*"abc" is not a number/);
    assert.equal((await cli(['train', '--dataset', 'nope', '--data', t.dir])).status, 2);
    copyFileSync(join(IMAGES, 'square.png'), join(t.dir, 'a.png'));
    copyFileSync(join(IMAGES, 'grey.png'), join(t.dir, 'b.png'));
    writeFileSync(join(t.dir, 'two.csv'), 'path,mos\na.png,1\nb.png,2\n');
    const small = await cli(['train', '--dataset', 'csv', '--data', join(t.dir, 'two.csv'), '--epochs', '1', '--cache', join(t.dir, 'cache')]);
    assert.equal(small.status, 1);
    assert.match(small.stderr, /too small for this protocol/);
  });
});
