import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { createScorer, loadBundle, type Precision } from '@clip-agiqa/core';
import { importModel } from '@clip-agiqa/core/import';

import { startHubServer } from './support/hub-server.js';
import { CLI, GOLDENS, goldenPixels, python, pythonUnavailable, ROOT } from './support/helpers.js';

const skip = pythonUnavailable() ?? false;
const TOLERANCE = 1e-5;

interface Reference {
  images: Record<string, { image_embeds: number[]; clip_iqa: number; levels: number; variant_embeds: number[] }>;
}

/** The seeded CLIP of `arch` in the transformers.js layout, its PyTorch save, and the independent reference outputs. */
function exportFixture(arch: string, work: string): { model: string; reference: Reference } {
  const model = join(work, 'model');
  const torch = join(work, 'torch');
  let r = python(['tools/export', '--random', arch, '--seed', '3', '--layout', 'transformers-js', '--precisions', 'int8', '--out', model, '--save-torch', torch]);
  assert.equal(r.status, 0, r.stderr);
  if (arch === 'tiny') {
    // An fp16 variant with float16 inputs and outputs, as some hub repositories ship: the scorer cannot feed it.
    r = python(['-c', 'import onnx, sys; from onnxruntime.transformers.float16 import convert_float_to_float16 as half; '
      + 'onnx.save(half(onnx.load(sys.argv[1]), keep_io_types=False), sys.argv[2])', join(model, 'onnx/vision_model.onnx'), join(model, 'onnx/vision_model_fp16.onnx')]);
    assert.equal(r.status, 0, r.stderr);
  }
  // The 8-bit tower as transformers.js' converter makes it: ONNX Runtime's dynamic quantisation over the whole
  // graph, one activation scale per tensor, so a batched run scales every image by the batch's range.
  r = python(['-c', 'import sys; from onnxruntime.quantization import QuantType, quantize_dynamic; '
    + 'quantize_dynamic(sys.argv[1], sys.argv[2], per_channel=True, reduce_range=True, weight_type=QuantType.QUInt8)',
  join(model, 'onnx/vision_model.onnx'), join(model, 'onnx/vision_model_quantized.onnx')]);
  assert.equal(r.status, 0, r.stderr);
  r = python(['test/python/import_reference.py', torch, model, join(GOLDENS, 'pixels.safetensors'), '--variant', join(model, 'onnx/vision_model_quantized.onnx')]);
  assert.equal(r.status, 0, r.stderr);
  return { model, reference: JSON.parse(r.stdout.trim().split('\n').pop()!) as Reference };
}

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

/** Embeddings and zero-shot scores of the bundle at `model` against the reference, on PIL's pixels of each fixture image. */
async function assertMatchesReference(model: string, reference: Reference, precision: Precision = 'fp32'): Promise<string> {
  const scorer = await createScorer({ model, precision });
  try {
    const pixels = goldenPixels();
    const size = scorer.bundle.manifest.preprocess.size;
    let worst = { embeds: 0, clipIqa: 0, levels: 0 };
    for (const [name, ref] of Object.entries(reference.images)) {
      const image = { data: pixels.get(name)!, width: size, height: size, channels: 3 as const };
      const embeds = await scorer.embed(image);
      const { scores } = await scorer.score(image);
      const expected = precision === 'fp32' ? ref.image_embeds : ref.variant_embeds;
      worst = {
        embeds: Math.max(worst.embeds, maxDiff(embeds, expected)),
        clipIqa: Math.max(worst.clipIqa, precision === 'fp32' ? Math.abs(scores['clip-iqa']! - ref.clip_iqa) : 0),
        levels: Math.max(worst.levels, precision === 'fp32' ? Math.abs(scores.levels! - ref.levels) : 0),
      };
    }
    assert.ok(worst.embeds <= TOLERANCE && worst.clipIqa <= TOLERANCE && worst.levels <= TOLERANCE, `${precision}: ${JSON.stringify(worst)}`);
    return precision === 'fp32'
      ? `fp32 vs PyTorch, max |diff|: embeddings ${worst.embeds.toExponential(2)}, clip-iqa ${worst.clipIqa.toExponential(2)}, levels ${worst.levels.toExponential(2)}`
      : `${precision} vs ONNX Runtime (Python) on the same file, max |diff| of embeddings ${worst.embeds.toExponential(2)}`;
  } finally {
    await scorer.close();
  }
}

/** `count` distinct images at the bundle's input size, made from the golden pixels by rolling and inverting them. */
function variedImages(count: number): Uint8Array[] {
  const base = [...goldenPixels().values()];
  return Array.from({ length: count }, (_, i) => {
    const src = base[i % base.length]!;
    const shift = 3 * 7 * Math.floor(i / base.length);
    const out = new Uint8Array(src.length);
    for (let k = 0; k < src.length; k++) out[k] = i % 2 ? 255 - src[(k + shift) % src.length]! : src[(k + shift) % src.length]!;
    return out;
  });
}

/** The original order, the reverse, and a fixed shuffle. */
function orders(n: number): number[][] {
  const identity = Array.from({ length: n }, (_, i) => i);
  return [identity, [...identity].reverse(), identity.map((i) => (i * 13 + 5) % n)];
}

/** int8 embeddings of `images` scored together by a scorer that batches up to `batchSize`. */
async function embedAll(model: string, images: Uint8Array[], batchSize: number): Promise<Float32Array[]> {
  const scorer = await createScorer({ model, precision: 'int8', batchSize, maxWaitMs: 50 });
  try {
    const size = scorer.bundle.manifest.preprocess.size;
    const embeds = await Promise.all(images.map((data) => scorer.embed({ data, width: size, height: size, channels: 3 })));
    if (batchSize > 1) assert.ok(scorer.stats().batches < images.length, 'the images ran in batches');
    return embeds;
  } finally {
    await scorer.close();
  }
}

for (const arch of ['tiny', 'vit-b-16']) {
  describe(`importing a ${arch} CLIP in the transformers.js layout`, { skip }, () => {
    let work: string;
    let fixture: { model: string; reference: Reference };
    before(() => {
      work = mkdtempSync(join(tmpdir(), `clip-agiqa-import-${arch}-`));
      fixture = exportFixture(arch, work);
    });
    after(() => rmSync(work, { recursive: true, force: true }));

    it('from a folder (clip-agiqa import): embeddings and zero-shot scores equal PyTorch and numpy to 1e-5, int8 by --precision', async (t) => {
      const out = join(work, 'bundle');
      const r = spawnSync(process.execPath, [CLI, 'import', fixture.model, '--out', out], { cwd: ROOT, encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /int8 +image_encoder\.int8\.onnx +\(cosine to fp32 >= 0\.9\d+/);
      if (arch === 'tiny') assert.match(r.stdout, /not imported: onnx\/vision_model_fp16\.onnx: it takes float16 pixel_values and gives float16 image_embeds/);
      const scorer = await createScorer({ model: out });
      const heads = scorer.model.heads;
      await scorer.close();
      assert.deepEqual(heads.map((h) => [h.name, h.provenance, h.scoreRange]), [['clip-iqa', 'zero-shot', [0, 1]], ['levels', 'zero-shot', [0, 1]], ['clipscore', 'zero-shot', [0, 2.5]]]);
      assert.equal(scorer.model.untrained, false, 'zero-shot heads on a tower of unknown provenance are not flagged untrained');
      t.diagnostic(await assertMatchesReference(out, fixture.reference));
      t.diagnostic(await assertMatchesReference(out, fixture.reference, 'int8'));
      const cliScore = spawnSync(process.execPath, [CLI, 'score', '--model', out, '--precision', 'int8', '--json', join(ROOT, 'examples/images')], { encoding: 'utf8' });
      assert.equal(cliScore.status, 0, cliScore.stderr);
      assert.equal(cliScore.stdout.trim().split('\n').length, 4);
    });

    // Only the tiny tower: a ViT-B/16 q8 tower takes minutes per batch order on two cores.
    if (arch === 'tiny') {
      it('a converter-made q8 tower scores every image the same alone and in batches of 3, 8 and 32 in three orders', async () => {
        const out = join(work, 'bundle-q8');
        await importModel(fixture.model, { out, precisions: ['int8'] });
        const { manifest } = await loadBundle(out);
        assert.deepEqual(manifest.image_encoder.per_image, ['int8'], 'the import measured that batching moves this tower\'s embeddings');
        assert.match(manifest.image_encoder.accuracy!.int8!.method!, /one image per call \(batched, an embedding moved by up to \d/);
        assert.equal(manifest.image_encoder.accuracy!.int8!.max_batch_diff, 0);
        const images = variedImages(32);
        const alone = await embedAll(out, images, 1);
        for (const batchSize of [3, 8, 32]) {
          for (const order of orders(images.length)) {
            const batched = await embedAll(out, order.map((i) => images[i]!), batchSize);
            order.forEach((i, k) => assert.deepEqual(batched[k], alone[i], `image ${i} in batches of ${batchSize}`));
          }
        }
      });
    }

    it('from a loopback hub via HF_ENDPOINT: pinned to the commit, checksums recorded, reused from the cache', async (t) => {
      const hub = await startHubServer('test-owner/clip-random', fixture.model);
      const cacheDir = join(work, 'cache');
      const saved = process.env.HF_ENDPOINT;
      process.env.HF_ENDPOINT = hub.endpoint;
      try {
        const first = await importModel('hf:test-owner/clip-random', { cacheDir });
        assert.equal(first.source, `hf:test-owner/clip-random@${hub.commit}`);
        assert.equal(first.bundle.manifest.backbone.source, first.source);
        assert.ok(hub.requests.includes('GET /api/models/test-owner/clip-random/revision/main?blobs=true'));
        assert.ok(hub.requests.some((r) => r.startsWith(`GET /test-owner/clip-random/resolve/${hub.commit}/onnx/vision_model_quantized.onnx`)));
        assert.ok(hub.requests.some((r) => r.startsWith('GET /cas/blobs/')), 'LFS files come through the redirect');
        t.diagnostic(await assertMatchesReference(first.bundle.dir, fixture.reference));
        t.diagnostic(await assertMatchesReference(first.bundle.dir, fixture.reference, 'int8'));

        // createScorer with the hub id reuses the import: only the revision is asked again.
        const before = hub.requests.length;
        const scorer = await createScorer({ model: 'hf:test-owner/clip-random', cacheDir });
        await scorer.close();
        assert.deepEqual(hub.requests.slice(before), ['GET /api/models/test-owner/clip-random/revision/main?blobs=true']);
        assert.ok(scorer.model.dir.includes(hub.commit));
      } finally {
        if (saved === undefined) delete process.env.HF_ENDPOINT;
        else process.env.HF_ENDPOINT = saved;
        await hub.close();
      }
    });
  });
}
