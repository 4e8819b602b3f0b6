import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import {
  createScorer, DeviceError, InputError, isFailure, PolicyError, UsageError, type ImageInput, type Scorer, type ScoreResult,
} from '@clip-agiqa/core';
import sharp from 'sharp';

import { assertBatchInvariant } from './support/batch-invariance.js';
import { copyDemoBundle, DEMO_MODEL_DIR, goldenPixels, IMAGES, reference, tempDir } from './support/helpers.js';

const ref = reference();
const goldens = goldenPixels();
const names = Object.keys(ref.images).sort();
const paths = names.map((n) => join(IMAGES, n));

/** Tolerance of raw-file scores against the PyTorch reference (which decodes with PIL). */
const RAW_FILE_TOLERANCE = 1e-4;

describe('scorer', () => {
  let scorer: Scorer;
  before(async () => {
    scorer = await createScorer({ model: DEMO_MODEL_DIR, batchSize: 4 });
  });
  after(async () => scorer.close());

  it('describes its model and device', () => {
    assert.equal(scorer.device, 'cpu');
    assert.equal(scorer.model.untrained, true);
    assert.deepEqual(scorer.model.heads.map((h) => [h.name, h.needsPrompt]), [['quality', false], ['clipscore', true]]);
    assert.deepEqual(scorer.model.heads[0]!.scoreRange, [0, 5]);
  });

  it('decodes as scoring does and scores embeddings it gave out', async () => {
    const rotated = await scorer.decode(join(IMAGES, 'exif-rotated.jpg'));
    const meta = await sharp(join(IMAGES, 'exif-rotated.jpg')).metadata();
    const [w, h] = (meta.orientation ?? 1) >= 5 ? [meta.height, meta.width] : [meta.width, meta.height];
    assert.deepEqual([rotated.width, rotated.height, rotated.data.length], [w, h, w! * h! * 3], 'oriented, full size, RGB');
    const inputs = ['landscape.jpg', 'square.png'].map((n) => join(IMAGES, n));
    const embeds = await Promise.all(inputs.map((p) => scorer.embed(p)));
    const packed = new Float32Array(2 * scorer.model.embedDim);
    embeds.forEach((e, i) => packed.set(e, i * scorer.model.embedDim));
    const scored = (await scorer.score(inputs)) as ScoreResult[];
    assert.deepEqual(scorer.scoreEmbeddings(packed, 2), scored.map((r) => r.scores.quality));
    assert.throws(() => scorer.scoreEmbeddings(packed, 3), (e: unknown) => e instanceof UsageError && e.code === 'SHAPE_MISMATCH');
    assert.throws(() => scorer.scoreEmbeddings(packed, 2, 'nope'), (e: unknown) => e instanceof UsageError && e.code === 'UNKNOWN_HEAD');
  });

  it('equals the PyTorch reference within 1e-4 when fed the golden pixel tensors', async () => {
    for (const name of names) {
      const image = { data: goldens.get(name)!, width: ref.size, height: ref.size, channels: 3 as const };
      const result = await scorer.score({ id: name, image });
      const expected = ref.images[name]!;
      assert.ok(Math.abs(result.scores.quality! - expected.scores.quality!) <= 1e-4, `${name}: ${result.scores.quality} vs ${expected.scores.quality}`);
      const embeds = await scorer.embed(image);
      const worst = Math.max(...expected.image_embeds.map((v, i) => Math.abs(v - embeds[i]!)));
      assert.ok(worst <= 1e-4, `${name}: embedding differs by ${worst}`);
    }
  });

  it('equals the PyTorch reference from raw files (every format PIL decodes alike)', async () => {
    const outcomes = await scorer.score(paths);
    for (const o of outcomes) {
      assert.ok(!isFailure(o), `${o.id}: ${isFailure(o) ? o.error.message : ''}`);
      const name = names[o.index]!;
      const diff = Math.abs(o.scores.quality! - ref.images[name]!.scores.quality!);
      if (name === 'cmyk.jpg') assert.ok(diff < 0.5, `cmyk: ${diff}`); // colour-managed CMYK, see README
      else if (name === 'alpha.png') assert.ok(diff < 5e-3, `alpha: ${diff}`); // compositing rounding
      else assert.ok(diff <= RAW_FILE_TOLERANCE, `${name}: ${diff}`);
    }
  });

  it('gives the same score alone, in any batch, and on every run, at every precision the bundle ships', async () => {
    assert.deepEqual(scorer.bundle.precisions(), ['fp32', 'int8']);
    for (const precision of scorer.bundle.precisions()) await assertBatchInvariant(DEMO_MODEL_DIR, precision, [1, 3, 8, 16]);
  });

  it('accepts paths, encoded bytes, raw RGB(A) pixels, sharp pipelines, AVIF and TIFF alike', async () => {
    const path = join(IMAGES, 'square.png');
    const fromPath = (await scorer.score(path)).scores.quality!;
    const bytes = readFileSync(path);
    const { data, info } = await sharp(bytes).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
    const inputs: ImageInput[] = [
      bytes,
      new Uint8Array(bytes),
      { data, width: info.width, height: info.height, channels: 4 },
      sharp(bytes),
      await sharp(bytes).tiff({ compression: 'lzw' }).toBuffer(),
      // The fastest effort: lossless all the same, a tenth of the encoding time.
      { id: 'lossless-avif', image: await sharp(bytes).avif({ lossless: true, effort: 0 }).toBuffer() },
    ];
    const outcomes = await scorer.score(inputs);
    assert.deepEqual(outcomes.map((o) => o.id), ['#0', '#1', '#2', '#3', '#4', 'lossless-avif']);
    for (const o of outcomes.slice(0, 5)) assert.ok(!isFailure(o) && Math.abs(o.scores.quality! - fromPath) <= 1e-6, `${o.id}`);
    const avif = outcomes[5]!;
    assert.ok(!isFailure(avif) && Math.abs(avif.scores.quality! - fromPath) < 0.05, 'AVIF lossless goes through YUV: close, not equal');
  });

  it('fails only the bad images of a batch, each with a typed error naming it', async () => {
    const truncated = readFileSync(join(IMAGES, 'landscape.jpg')).subarray(0, 15000);
    const outcomes = await scorer.score([
      paths[0]!,
      { id: 'truncated.jpg', image: truncated },
      { id: 'text', image: Buffer.from('not an image at all') },
      { id: 'empty', image: new Uint8Array(0) },
      join(IMAGES, 'does-not-exist.png'),
      { id: 'short-raw', image: { data: new Uint8Array(10), width: 4, height: 4, channels: 3 } },
      paths[1]!,
    ]);
    const codes = outcomes.map((o) => (isFailure(o) ? o.error.code : 'ok'));
    assert.deepEqual(codes, ['ok', 'CORRUPT_IMAGE', 'UNSUPPORTED_FORMAT', 'EMPTY_INPUT', 'UNREADABLE_FILE', 'INVALID_PIXELS', 'ok']);
    for (const o of outcomes.filter(isFailure)) {
      assert.ok(o.error instanceof InputError);
      assert.ok(o.error.message.includes(o.id), `${o.error.message} should name ${o.id}`);
    }
    await assert.rejects(scorer.score({ id: 'x', image: Buffer.from('nope') }), (e: InputError) => e.code === 'UNSUPPORTED_FORMAT');
  });

  it('ranks, filters and picks the best of a set', async () => {
    const outcomes = (await scorer.score(paths)) as ScoreResult[];
    const byScore = [...outcomes].sort((a, b) => b.scores.quality! - a.scores.quality!);
    const ranking = await scorer.rank([...paths, Buffer.from('junk')]);
    assert.deepEqual(ranking.ranked.map((r) => r.id), byScore.map((r) => r.id));
    assert.deepEqual(ranking.ranked.map((r) => r.rank), byScore.map((_, i) => i + 1));
    assert.equal(ranking.failed.length, 1);

    const best = await scorer.bestOf(paths);
    assert.equal(best.best!.id, byScore[0]!.id);
    assert.equal((await scorer.bestOf([Buffer.from('junk')])).best, null);

    const median = byScore[5]!.scores.quality!;
    const byThreshold = await scorer.filter(paths, { threshold: median });
    assert.deepEqual(byThreshold.passed.map((r) => r.id), byScore.slice(0, 6).map((r) => r.id));
    assert.equal(byThreshold.rejected.length, paths.length - 6);
    assert.deepEqual((await scorer.filter(paths, { topK: 3 })).passed.map((r) => r.id), byScore.slice(0, 3).map((r) => r.id));
    assert.equal((await scorer.filter(paths, { topPercent: 20 })).passed.length, Math.ceil(0.2 * paths.length));
    assert.equal((await scorer.filter(paths, { topK: 5, threshold: median })).passed.length, 5);
    await assert.rejects(scorer.filter(paths, {}), (e: UsageError) => e instanceof PolicyError && e.code === 'INVALID_POLICY');
    await assert.rejects(scorer.filter(paths, { topPercent: 120 }), (e: UsageError) => e instanceof PolicyError && e.code === 'INVALID_POLICY');
    await assert.rejects(scorer.rank(paths, { head: 'nope' }), (e: UsageError) => e.code === 'UNKNOWN_HEAD');
  });

  it('refuses images over the pixel limit before decoding', async () => {
    const s = await createScorer({ model: DEMO_MODEL_DIR, limits: { maxPixels: 100_000 } });
    try {
      await assert.rejects(s.score(paths[names.indexOf('square.png')]!), (e: InputError) => e.code === 'TOO_MANY_PIXELS' && /512x512/.test(e.message));
    } finally {
      await s.close();
    }
  });
});

describe('scorer lifecycle and devices', () => {
  it('finishes work in flight on close, then refuses new work', async () => {
    const s = await createScorer({ model: DEMO_MODEL_DIR, batchSize: 2 });
    const pending = s.score(paths);
    await s.close();
    assert.equal((await pending).filter(isFailure).length, 0);
    await assert.rejects(s.score(paths[0]!), (e: UsageError) => e.code === 'SCORER_CLOSED');
  });

  it('rejects bad options with usage errors', async () => {
    await assert.rejects(createScorer({ model: DEMO_MODEL_DIR, batchSize: 0 }), (e: UsageError) => e.code === 'INVALID_ARGUMENT');
    await assert.rejects(createScorer({ model: DEMO_MODEL_DIR, device: 'tpu' as never }), (e: UsageError) => e.code === 'INVALID_ARGUMENT');
    await assert.rejects(createScorer({ model: DEMO_MODEL_DIR, threads: -1 }), (e: UsageError) => e.code === 'INVALID_ARGUMENT');
  });

  for (const device of ['cuda', 'webgpu'] as const) {
    it(`runs on ${device} when it starts, and otherwise says so instead of falling back`, async () => {
      try {
        const s = await createScorer({ model: DEMO_MODEL_DIR, device });
        assert.equal(s.device, device);
        const r = await s.score(paths[0]!);
        assert.ok(Math.abs(r.scores.quality! - ref.images[names[0]!]!.scores.quality!) < 1e-3);
        await s.close();
      } catch (e) {
        assert.ok(e instanceof DeviceError, String(e));
        assert.equal(e.code, 'DEVICE_UNAVAILABLE');
        assert.match(e.message, new RegExp(`device ${device} is not available`));
      }
    });
  }

  it('auto picks a device that starts and reports it', async () => {
    const s = await createScorer({ model: DEMO_MODEL_DIR, device: 'auto' });
    try {
      assert.ok(['cpu', 'cuda', 'webgpu'].includes(s.device));
      assert.ok(!isFailure(await s.score(paths[0]!)));
    } finally {
      await s.close();
    }
  });
});

describe('reduced-precision towers', () => {
  it('scores with the int8 tower close to fp32, and refuses precisions the bundle lacks', async () => {
    const fp32 = await createScorer({ model: DEMO_MODEL_DIR });
    const int8 = await createScorer({ model: DEMO_MODEL_DIR, precision: 'int8' });
    try {
      assert.equal(int8.model.precision, 'int8');
      for (const p of paths.slice(0, 4)) {
        const [a, b] = [await fp32.embed(p), await int8.embed(p)];
        let dot = 0, na = 0, nb = 0;
        a.forEach((v, i) => { dot += v * b[i]!; na += v * v; nb += b[i]! ** 2; });
        assert.ok(dot / Math.sqrt(na * nb) > 0.995, `${p}: cosine ${dot / Math.sqrt(na * nb)}`);
        assert.ok(Math.abs((await fp32.score(p)).scores.quality! - (await int8.score(p)).scores.quality!) < 0.05);
      }
    } finally {
      await fp32.close();
      await int8.close();
    }
    await assert.rejects(createScorer({ model: DEMO_MODEL_DIR, precision: 'fp16' }), (e: Error & { code?: string }) => e.code === 'BUNDLE_MISSING_FILE');
  });

});

describe('bundles with several heads or mismatched towers', () => {
  it('scores every head from one image pass', async () => {
    using t = tempDir();
    copyDemoBundle(t.dir);
    const manifestPath = join(t.dir, 'manifest.json');
    const m = JSON.parse(readFileSync(manifestPath, 'utf8')) as { heads: { name: string; higher_is_better: boolean }[] };
    m.heads.push({ ...m.heads[0]!, name: 'artefacts', higher_is_better: false });
    writeFileSync(manifestPath, JSON.stringify(m));
    const s = await createScorer({ model: t.dir });
    try {
      const r = await s.score(paths[0]!);
      assert.deepEqual(Object.keys(r.scores), ['quality', 'artefacts']);
      assert.equal(r.scores.quality, r.scores.artefacts);
      const ranking = await s.rank(paths, { head: 'artefacts' });
      const scores = ranking.ranked.map((x) => x.scores.artefacts!);
      assert.deepEqual(scores, [...scores].sort((a, b) => a - b), 'lower is better ranks ascending');
    } finally {
      await s.close();
    }
  });

  it('refuses to load a head holding NaN, naming the tensor', async () => {
    using t = tempDir();
    copyDemoBundle(t.dir);
    const file = join(t.dir, 'heads', readdirSync(join(t.dir, 'heads'))[0]!);
    const bytes = readFileSync(file);
    const header = JSON.parse(bytes.subarray(8, 8 + Number(bytes.readBigUInt64LE(0))).toString('utf8')) as Record<string, { data_offsets: [number, number] }>;
    const at = 8 + Number(bytes.readBigUInt64LE(0)) + header['text_features']!.data_offsets[0] + 4 * 5;
    bytes.writeFloatLE(Number.NaN, at);
    writeFileSync(file, bytes);
    await assert.rejects(createScorer({ model: t.dir, verifyChecksums: false }),
      (e: Error & { code?: string }) => e.code === 'NON_FINITE_VALUE' && /tensor text_features holds NaN at index 5/.test(e.message));
  });

  it('refuses an image encoder whose tensors do not match the manifest', async () => {
    using t = tempDir();
    copyDemoBundle(t.dir);
    const manifestPath = join(t.dir, 'manifest.json');
    const m = JSON.parse(readFileSync(manifestPath, 'utf8')) as { image_encoder: { input: string }; backbone: { embed_dim: number } };
    m.image_encoder.input = 'pixels';
    writeFileSync(manifestPath, JSON.stringify(m));
    await assert.rejects(createScorer({ model: t.dir }), (e: Error & { code?: string }) => e.code === 'SHAPE_MISMATCH' && /pixel_values/.test(e.message));
  });
});
