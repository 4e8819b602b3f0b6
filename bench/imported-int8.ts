// How an imported 8-bit image tower is kept batch-invariant, and what it costs. The hub's q8 files (ONNX
// Runtime's dynamic quantisation, one activation scale per tensor) give an image another embedding in
// every batch; the import runs such a tower one image per call. Times, at batch 8 on the ViT-B/16-shaped
// random CLIP of the benchmark cache, in alternating rounds (best of each):
//   - the q8 file batched (what the embeddings drift by, alone against in the batch),
//   - the q8 file one image per call (what `clip-agiqa import` records),
//   - the exporter's int8 tower (per-image quantisation inside a Scan),
//   - the fp32 tower,
// with the CPU and its measured GEMM rate.
//   node --import tsx bench/imported-int8.ts [--cache DIR] [--rounds N] [--images N]
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { importModel, loadBundle } from '@clip-agiqa/core';
import { openTower } from '@clip-agiqa/core/internal';

import type { GemmResult } from './child.js';
import { cpuInfo, describeCpu } from './cpu.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({ options: {
  cache: { type: 'string', default: join(ROOT, '.cache/bench') },
  rounds: { type: 'string', default: '3' },
  images: { type: 'string', default: '48' },
} });
const rounds = Number(values.rounds);
const images = Number(values.images);
const BATCH = 8;
const THREADS = 2;
const log = (line: string) => process.stderr.write(`${line}\n`);

log('preparing the benchmark cache (first run: a few minutes)...');
const prepared = spawnSync('python3', [join(ROOT, 'bench/prepare.py'), values.cache], { encoding: 'utf8' });
if (prepared.status !== 0) throw new Error(`bench/prepare.py failed: ${prepared.stderr.slice(-1500)}`);
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
const pixels = new Float32Array(BATCH * plane).map((_, i) => Math.sin(i * 0.618) * 1.8);

const towers = [
  { name: 'hub q8, batched', path: bundle.imageEncoderPath('int8'), perImage: false },
  { name: 'hub q8, one image per call (as imported)', path: bundle.imageEncoderPath('int8'), perImage: true },
  { name: 'exporter int8 (Scan, per-image scales)', path: exported.imageEncoderPath('int8'), perImage: false },
  { name: 'fp32', path: exported.imageEncoderPath('fp32'), perImage: false },
];
const opened = await Promise.all(towers.map((t) => openTower(t.path, { ...io, perImage: t.perImage }, preprocess.size, backbone.embed_dim, { threads: THREADS })));

// Drift: each image alone against inside the batch of 8.
const batched = (await opened[0]!.embed(pixels.slice(), BATCH)).embeds;
let drift = 0;
for (let i = 0; i < BATCH; i++) {
  const alone = (await opened[0]!.embed(pixels.slice(i * plane, (i + 1) * plane), 1)).embeds;
  for (let k = 0; k < alone.length; k++) drift = Math.max(drift, Math.abs(alone[k]! - batched[i * backbone.embed_dim + k]!));
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
console.log(`import recorded per_image: ${JSON.stringify(bundle.manifest.image_encoder.per_image ?? [])}; ` +
  `the q8 file batched moves an embedding by up to ${drift.toExponential(2)} (alone against in a batch of ${BATCH})`);
console.log(`| tower (batch ${BATCH}, ${THREADS} threads, best of ${rounds}) | img/s | vs batched q8 |\n| --- | --- | --- |`);
towers.forEach((t, i) => console.log(`| ${t.name} | ${best[i]!.toFixed(2)} | ${(best[i]! / best[0]!).toFixed(2)}× |`));
