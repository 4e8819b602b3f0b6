// How to run the image tower on this CPU: one session or one per thread, spin-waiting or not. Times
// the benchmark bundle's towers alone under each plan, in alternating rounds, and prints a table.
//   node --import tsx bench/session-plans.ts [--cache DIR] [--threads N] [--rounds N]
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { loadBundle } from '@clip-agiqa/core';
import { openTower, type PoolPlan, type Tower } from './tower-pool.js';
import { cpuInfo, describeCpu } from './cpu.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({ options: {
  cache: { type: 'string', default: join(ROOT, '.cache/bench') },
  threads: { type: 'string', default: String(availableParallelism()) },
  rounds: { type: 'string', default: '2' },
} });
const threads = Number(values.threads);
const bundle = await loadBundle(join(values.cache, 'vit-b-16'), { verifyChecksums: false });
const { image_encoder: io, preprocess, backbone } = bundle.manifest;

interface Plan { name: string; plan: PoolPlan; spinning?: boolean }
const plans: Plan[] = [
  { name: `one session, ${threads} threads, spinning`, plan: { workers: 1, threadsPerWorker: threads } },
  { name: `one session, ${threads} threads, no spinning`, plan: { workers: 1, threadsPerWorker: threads }, spinning: false },
  { name: `${threads} sessions × 1 thread`, plan: { workers: threads, threadsPerWorker: 1 } },
  { name: `${threads} sessions × ${threads} threads, no spinning`, plan: { workers: threads, threadsPerWorker: threads } },
];

async function rate(tower: Tower, batch: number, images: number): Promise<number> {
  const x = new Float32Array(batch * 3 * preprocess.size ** 2).map(() => Math.random() * 2 - 1);
  await tower.embed(x.slice(), batch);
  const runs = Math.max(1, Math.round(images / batch));
  const started = performance.now();
  for (let i = 0; i < runs; i++) await tower.embed(x.slice(), batch);
  return (runs * batch) / ((performance.now() - started) / 1000);
}

process.stdout.write(`${describeCpu(cpuInfo())}\n\n| precision | plan | batch 1 img/s | batch 8 img/s |\n| --- | --- | --- | --- |\n`);
for (const precision of bundle.precisions().filter((p) => p === 'fp32' || p === 'int8')) {
  const results = new Map<string, { b1: number[]; b8: number[] }>(plans.map((p) => [p.name, { b1: [], b8: [] }]));
  for (let round = 0; round < Number(values.rounds); round++) {
    for (const p of plans) {
      const tower = await openTower(bundle.imageEncoderPath(precision), io, preprocess.size, backbone.embed_dim,
        { threads, spinning: p.spinning }, p.plan);
      try {
        results.get(p.name)!.b1.push(await rate(tower, 1, precision === 'int8' ? 12 : 6));
        results.get(p.name)!.b8.push(await rate(tower, 8, precision === 'int8' ? 24 : 16));
      } finally {
        await tower.close();
      }
    }
  }
  const best = (xs: number[]) => Math.max(...xs).toFixed(2);
  for (const p of plans) process.stdout.write(`| ${precision} | ${p.name} | ${best(results.get(p.name)!.b1)} | ${best(results.get(p.name)!.b8)} |\n`);
}
