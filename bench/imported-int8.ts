// How an 8-bit image tower is kept batch-invariant, and what each way costs. The hub's q8 files (ONNX
// Runtime's dynamic quantisation, one activation scale per tensor) give an image another embedding in
// every batch; the import runs such a tower one image per call. Compared, on the ViT-B/16-shaped random CLIP
// of the benchmark cache at batch 8, in alternating rounds (best of each), on real images preprocessed as
// the bundle says (bench/int8_candidates.py; AGIQA-3K when beside the project, else the test fixtures):
//   - the hub-style q8 file batched, and one image per call (what `clip-agiqa import` records),
//   - the exporter's quantisation (int8 per-channel weights, MatMul only) inside a Scan over the batch,
//   - the same quantisation without the Scan, run one image per call,
//   - static quantisation (QDQ, activation scales calibrated once on other images), batched,
//   - the fp32 tower;
// for each: images/s, the worst cosine to fp32, and how far an embedding moves alone against in the batch.
// Printed with the CPU and its measured GEMM rate.
//   node --import tsx bench/imported-int8.ts [--cache DIR] [--rounds N] [--images N] [--images-dir DIR]
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { loadBundle } from '@clip-agiqa/core';
import { importModel } from '@clip-agiqa/core/import';
import { openTower } from './tower-pool.js';

import type { GemmResult } from './child.js';
import { cpuInfo, describeCpu } from './cpu.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({ options: {
  cache: { type: 'string', default: join(ROOT, '.cache/bench') },
  rounds: { type: 'string', default: '3' },
  images: { type: 'string', default: '48' },
  'images-dir': { type: 'string', default: join(ROOT, '../shared/datasets/agiqa-3k/images') },
} });
const rounds = Number(values.rounds);
const images = Number(values.images);
const BATCH = 8;
const THREADS = 2;
const log = (line: string) => process.stderr.write(`${line}\n`);

function python(args: string[], what: string): void {
  const r = spawnSync('python3', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${what} failed: ${r.stderr.slice(-1500)}`);
}

log('preparing the benchmark cache (first run: a few minutes)...');
python([join(ROOT, 'bench/prepare.py'), values.cache], 'bench/prepare.py');
const imagesDir = existsSync(values['images-dir']) ? values['images-dir'] : join(ROOT, 'test/fixtures/images');
const candidates = join(values.cache, 'int8-candidates');
const few = imagesDir.endsWith(join('fixtures', 'images'));
python([join(ROOT, 'bench/int8_candidates.py'), values.cache, imagesDir, ...(few ? ['--calibration', '1', '--eval', '1'] : [])], 'bench/int8_candidates.py');
const gemm = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'bench/child.ts'), JSON.stringify({
  mode: 'gemm', path: join(values.cache, 'gemm-vit-mlp4.int8.onnx'), rows: 8 * 197, inner: 768, cols: 3072, blocks: 4, threads: THREADS,
})], { encoding: 'utf8' });
const gemmRate = (JSON.parse(gemm.stdout.trim().split('\n').pop() ?? '{}') as Partial<GemmResult>).gflops;

const imported = join(values.cache, 'imported-q8');
rmSync(imported, { recursive: true, force: true });
const { bundle } = await importModel(join(values.cache, 'transformersjs/clip-vit-b-16'), { out: imported, precisions: ['int8'] });
const exported = await loadBundle(join(values.cache, 'vit-b-16'), { verifyChecksums: false });
const { preprocess, backbone } = bundle.manifest;
const io = { input: 'pixel_values', output: 'image_embeds' };
const plane = 3 * preprocess.size ** 2;
const evalPixels = new Float32Array(readFileSync(join(candidates, 'eval.f32')).buffer.slice(0));
// A batch of 8 from the evaluation images (repeated when the fixtures give fewer).
const pixels = new Float32Array(BATCH * plane).map((_, i) => evalPixels[i % evalPixels.length]!);

const towers = [
  { name: 'hub q8, batched', path: bundle.imageEncoderPath('int8'), perImage: false },
  { name: 'hub q8, one image per call (as imported)', path: bundle.imageEncoderPath('int8'), perImage: true },
  { name: 'exporter int8 in a Scan (per-image scales)', path: exported.imageEncoderPath('int8'), perImage: false },
  { name: 'exporter int8, one image per call', path: join(candidates, 'dynamic.onnx'), perImage: true },
  { name: 'static int8 (calibrated scales), batched', path: join(candidates, 'static.onnx'), perImage: false },
  { name: 'fp32', path: exported.imageEncoderPath('fp32'), perImage: false },
];
const opened = await Promise.all(towers.map((t) => openTower(t.path, { ...io, perImage: t.perImage }, preprocess.size, backbone.embed_dim, { threads: THREADS })));
const dim = backbone.embed_dim;

function cosine(a: Float32Array, b: Float32Array): number {
  let ab = 0, aa = 0, bb = 0;
  for (let k = 0; k < a.length; k++) { ab += a[k]! * b[k]!; aa += a[k]! ** 2; bb += b[k]! ** 2; }
  return ab / Math.sqrt(aa * bb);
}

// Fidelity: each image alone against inside the batch of 8, and the worst cosine to fp32's embedding.
const batchedEmbeds = await Promise.all(opened.map(async (t) => (await t.embed(pixels.slice(), BATCH)).embeds));
const drift = towers.map(() => 0);
const minCosine = towers.map(() => 1);
for (const [t, tower] of opened.entries()) {
  for (let i = 0; i < BATCH; i++) {
    const alone = (await tower.embed(pixels.slice(i * plane, (i + 1) * plane), 1)).embeds;
    const inBatch = batchedEmbeds[t]!.subarray(i * dim, (i + 1) * dim);
    for (let k = 0; k < dim; k++) drift[t] = Math.max(drift[t]!, Math.abs(alone[k]! - inBatch[k]!));
    minCosine[t] = Math.min(minCosine[t]!, cosine(alone, batchedEmbeds[towers.length - 1]!.subarray(i * dim, (i + 1) * dim)));
  }
}

const best = towers.map(() => 0);
for (let round = 0; round < rounds; round++) {
  for (const [i, tower] of opened.entries()) {
    await tower.embed(pixels.slice(), BATCH);
    const runs = Math.max(1, Math.round(images / BATCH));
    const started = performance.now();
    for (let r = 0; r < runs; r++) await tower.embed(pixels.slice(), BATCH);
    best[i] = Math.max(best[i]!, (runs * BATCH) / ((performance.now() - started) / 1000));
  }
}
await Promise.all(opened.map((t) => t.close()));

console.log(`${describeCpu(cpuInfo())}; int8 GEMM (ViT MLP shape, ${THREADS} threads): ${gemmRate?.toFixed(0) ?? '?'} GOP/s`);
console.log(`import recorded per_image: ${JSON.stringify(bundle.manifest.image_encoder.per_image ?? [])}; images from ${imagesDir}`);
console.log(`| tower (batch ${BATCH}, ${THREADS} threads, best of ${rounds}) | img/s | vs batched q8 | min cosine to fp32 | alone vs in the batch, max \\|Δ\\| |\n| --- | --- | --- | --- | --- |`);
towers.forEach((t, i) => console.log(`| ${t.name} | ${best[i]!.toFixed(2)} | ${(best[i]! / best[0]!).toFixed(2)}× | ${minCosine[i]!.toFixed(5)} | ${drift[i]!.toExponential(1)} |`));
