import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import {
  createScorer, DeviceError, InputError, isFailure, UsageError, type ImageInput, type ModelBundleManifest, type Precision, type Scorer, type ScoreResult,
} from '@clip-agiqa/core';
import sharp from 'sharp';

import { copyDemoBundle, DEMO_MODEL_DIR, goldenPixels, IMAGES, python, pythonUnavailable, reference, tempDir } from './support/helpers.js';

const ref = reference();
const goldens = goldenPixels();
const names = Object.keys(ref.images).sort();
const paths = names.map((n) => join(IMAGES, n));

/** Tolerance of raw-file scores against the PyTorch reference (which decodes with PIL). */
const RAW_FILE_TOLERANCE = 1e-4;

/**
 * Scores the fixture images alone, then in batches of each size (forwards and reversed). fp32 and int8 (one
 * activation scale per image) must give the very same score; fp16, a GPU format that ONNX Runtime's CPU
 * kernels run with other summation orders per batch size, within 1e-5.
 */
async function assertBatchInvariant(model: string, precision: Precision, batchSizes: number[]): Promise<void> {
  const tolerance = precision === 'fp16' ? 1e-5 : 0;
  const single = await createScorer({ model, precision, batchSize: 1 });
  const alone: number[] = [];
  try {
    for (const p of paths) alone.push((await single.score(p)).scores.quality!);
  } finally {
    await single.close();
  }
  for (const batchSize of batchSizes) {
    const s = await createScorer({ model, precision, batchSize });
    try {
      for (const order of [paths, [...paths].reverse()]) {
        for (const o of await s.score(order)) {
          assert.ok(!isFailure(o));
          const i = paths.indexOf(o.id);
          assert.ok(Math.abs(o.scores.quality! - alone[i]!) <= tolerance, `${precision} batch ${batchSize}: ${o.id} ${o.scores.quality} vs ${alone[i]} alone`);
        }
      }
    } finally {
      await s.close();
    }
  }
}

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
      { id: 'lossless-avif', image: await sharp(bytes).avif({ lossless: true }).toBuffer() },
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
    await assert.rejects(scorer.filter(paths, {}), (e: UsageError) => e.code === 'INVALID_ARGUMENT');
    await assert.rejects(scorer.filter(paths, { topPercent: 120 }), (e: UsageError) => e.code === 'INVALID_ARGUMENT');
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

  it('gives the same score alone and in any batch at every precision the exporter produces', { skip: pythonUnavailable() ?? false }, async () => {
    using t = tempDir();
    const listed = python(['-c', 'import sys; sys.path.insert(0, "tools/export"); from clip_agiqa_export.precision import PRECISIONS; print(",".join(PRECISIONS))']);
    assert.equal(listed.status, 0, listed.stderr);
    const precisions = listed.stdout.trim();
    const r = python(['tools/export', '--tiny', '--seed', '3', '--no-text', '--precisions', precisions, '--guard-images', IMAGES, '--out', t.dir]);
    assert.equal(r.status, 0, r.stderr);
    const manifest = JSON.parse(readFileSync(join(t.dir, 'manifest.json'), 'utf8')) as ModelBundleManifest;
    assert.deepEqual(Object.keys(manifest.image_encoder.files).sort(), ['fp32', ...precisions.split(',')].sort());
    for (const precision of Object.keys(manifest.image_encoder.files) as Precision[]) {
      if (precision !== 'fp32') assert.ok(manifest.image_encoder.accuracy![precision]!.max_batch_diff! <= 1e-5);
      await assertBatchInvariant(t.dir, precision, [3, 8]);
    }
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

  it('fails an image whose embedding is NaN (counted as failed, never scored) and scores the others', { skip: pythonUnavailable(['onnx']) ?? false }, async () => {
    using t = tempDir();
    copyDemoBundle(t.dir);
    // A tower that is NaN for dark images: the embedding is scaled by the square root of the mean normalised pixel.
    const r = python(['-c', `import sys, numpy as np, onnx
from onnx import helper, numpy_helper, TensorProto
w = numpy_helper.from_array(np.random.RandomState(0).randn(3, 64).astype(np.float32), 'w')
nodes = [helper.make_node('ReduceMean', ['pixel_values'], ['channels'], axes=[2, 3], keepdims=0),
         helper.make_node('MatMul', ['channels', 'w'], ['raw']),
         helper.make_node('ReduceMean', ['pixel_values'], ['level'], axes=[1, 2, 3], keepdims=0),
         helper.make_node('Unsqueeze', ['level', 'one'], ['level2']),
         helper.make_node('Sqrt', ['level2'], ['scale']),
         helper.make_node('Mul', ['raw', 'scale'], ['image_embeds'])]
g = helper.make_graph(nodes, 'nan-for-dark', [helper.make_tensor_value_info('pixel_values', TensorProto.FLOAT, ['n', 3, 224, 224])],
                      [helper.make_tensor_value_info('image_embeds', TensorProto.FLOAT, ['n', 64])],
                      initializer=[w, numpy_helper.from_array(np.array([1], dtype=np.int64), 'one')])
m = helper.make_model(g, opset_imports=[helper.make_opsetid('', 13)]); m.ir_version = 8; onnx.save(m, sys.argv[1])`, join(t.dir, 'image_encoder.onnx')]);
    assert.equal(r.status, 0, r.stderr);
    const manifestPath = join(t.dir, 'manifest.json');
    const m = JSON.parse(readFileSync(manifestPath, 'utf8')) as { files: Record<string, { sha256: string; bytes: number }> };
    const tower = readFileSync(join(t.dir, 'image_encoder.onnx'));
    m.files['image_encoder.onnx'] = { sha256: createHash('sha256').update(tower).digest('hex'), bytes: tower.length };
    writeFileSync(manifestPath, JSON.stringify(m));
    const dark = { id: 'dark', image: { data: new Uint8Array(224 * 224 * 3).fill(10), width: 224, height: 224, channels: 3 as const } };
    const bright = { id: 'bright', image: { data: new Uint8Array(224 * 224 * 3).fill(240), width: 224, height: 224, channels: 3 as const } };
    const s = await createScorer({ model: t.dir });
    try {
      const [a, b] = await s.score([dark, bright]);
      assert.ok(a && 'error' in a, 'the NaN image fails');
      assert.equal(a.error.code, 'NON_FINITE_OUTPUT');
      assert.match(a.error.message, /^dark: the image tower gave NaN or Infinity/);
      assert.ok(b && 'scores' in b && Number.isFinite(b.scores.quality));
      const filtered = await s.filter([dark, bright], { threshold: -1e9 });
      assert.deepEqual(filtered.passed.map((x) => x.id), ['bright'], 'a NaN image never passes a gate');
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
