// npm run bench [-- --images N] [--images-dir DIR] [--out DIR] [--cache DIR] [--rounds N] [--quick]
// --quick: batch 1 and 8 on 2 threads only, for a smoke test of the harness (not for the README).
// --rounds: runs of each headline configuration (ours and each peer's fastest), alternating (default 3).
// --alignment-only: only what scoring against the prompt costs (best-of-8, quality alone vs quality + clipscore), on
// 16 images unless --images says otherwise: a minute or two on 2 cores.
// Scores AGIQA-3K images with a ViT-B/16-shaped bundle across batch sizes, threads, precisions and
// devices; runs the peers (PyTorch, ONNX Runtime Python, transformers.js) on the same weights and images
// in the same run; writes a report (Markdown and JSON) with a per-machine summary that checks the targets.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadBundle, type Precision } from '@clip-agiqa/core';
import * as ort from 'onnxruntime-node';
import { agiqaPrompts, alignmentLine, type AlignmentResult } from './alignment.js';
import type { ChildResult, ChildTask, GemmResult, GuardResult, ProfileResult, ScorerResult, ScorerTask } from './child.js';
import { cpuInfo, describeCpu } from './cpu.js';
import { maxScoreDiff, ortPython, pytorch, transformersJs, type PeerInputs, type PeerRow } from './peers.js';
import { buildReport, fastestPeer, fastestRow, type Row } from './report.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({
  options: {
    images: { type: 'string', default: '40' },
    out: { type: 'string', default: join(ROOT, 'bench-out') },
    cache: { type: 'string', default: join(ROOT, '.cache/bench') },
    'images-dir': { type: 'string', default: join(ROOT, '../shared/datasets/agiqa-3k/images') },
    quick: { type: 'boolean', default: false },
    rounds: { type: 'string', default: '3' },
    'alignment-only': { type: 'boolean', default: false },
  },
});
const N = values['alignment-only'] && !process.argv.includes('--images') ? 16 : Number(values.images);
const TORCH_IMAGES = 32;
const BATCHES = values.quick ? [1, 8] : [1, 8, 32];
const THREADS = values.quick ? [2] : [1, 2];
const PEER_BATCHES = values.quick ? [8] : [1, 8];
const ROUNDS = values.quick ? 1 : Number(values.rounds);
const started = performance.now();
const log = (s: string) => process.stderr.write(`${s}\n`);

function runChild<R extends ChildResult>(task: ChildTask): R | { error: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'bench/child.ts'), JSON.stringify(task)], { encoding: 'utf8', maxBuffer: 1 << 26 });
  const last = r.stdout.trim().split('\n').pop();
  if (!last) return { error: `child exited ${r.status}: ${r.stderr.slice(-300)}` };
  return JSON.parse(last) as R | { error: string };
}
function mustSucceed<R extends ChildResult>(result: R | { error: string }): R {
  if ('error' in result) throw new Error(result.error);
  return result;
}

// 1. Inputs: the bundle and the peers' layouts (built once into the cache), and the images.
const alignmentOnly = values['alignment-only'];
log(alignmentOnly ? 'preparing the ViT-B/16-shaped bundle with its text tower (first run: a minute)...'
  : 'preparing the ViT-B/16-shaped bundle and the peers\' files (first run: a few minutes)...');
const prepared = spawnSync('python3', [join(ROOT, 'bench/prepare.py'), values.cache, ...(alignmentOnly ? ['--text-only'] : [])], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
if (prepared.status !== 0) throw new Error(`bench/prepare.py failed (it needs torch, transformers, onnx, onnxruntime): ${prepared.stderr.slice(-1500)}`);
const imagesDir = values['images-dir'];
let names: string[];
try {
  names = readdirSync(imagesDir).sort();
} catch {
  log(`the benchmark reads AGIQA-3K images from ${imagesDir}, which is missing`);
  process.exit(1);
}
const stride = Math.max(1, Math.floor(names.length / N));
const picked = names.filter((_, i) => i % stride === 0).slice(0, N);
const images = picked.map((f) => join(imagesDir, f));

/** Best-of-8 jobs with and without their prompts (AGIQA-3K's, from data.csv beside the images) on the bundle with a text tower. */
function measureAlignment(): AlignmentResult | { error: string } {
  const csv = join(imagesDir, '..', 'data.csv');
  const known = existsSync(csv) ? agiqaPrompts(readFileSync(csv, 'utf8')) : new Map<string, string>();
  const prompts = picked.filter((_, i) => i % 8 === 0).map((f, j) => known.get(f) ?? `a generated image, number ${j}`);
  const r = runChild<AlignmentResult>({ mode: 'alignment', model: join(values.cache, 'vit-b-16-text'), threads: 2, images, prompts, rounds: ROUNDS });
  log('error' in r ? `alignment: ${r.error}` : alignmentLine(r));
  return r;
}
if (alignmentOnly) {
  log(describeCpu(cpuInfo()));
  const r = measureAlignment();
  process.stdout.write(`${JSON.stringify({ cpu: cpuInfo().name, alignment: r }, null, 2)}\n`);
  process.exit('error' in r ? 1 : 0);
}
const model = join(values.cache, 'vit-b-16');
const bundle = await loadBundle(model);
const bb = bundle.manifest.backbone;

// ViT multiply-adds per image as the exported graph runs them: patch embedding, then per layer QKV and
// output projections (4·T·d²), the MLP (8·T·d²) and attention (2·T²·d); the last layer computes only the
// class token (its query, the query carried through the key projection, the values of the mixed tokens
// and the output projection 4·d², MLP 8·d², attention logits and mixing 2·H·T·d with CLIP's 64-wide
// heads); then the projection. FLOPs = 2 × MACs.
const tokens = (bb.image_size / bb.patch_size!) ** 2 + 1;
const d = bb.width!;
const heads = d / 64;
const fullLayer = 12 * tokens * d * d + 2 * tokens * tokens * d;
const pooledLayer = 12 * d * d + 2 * heads * tokens * d;
const macs = (tokens - 1) * 3 * bb.patch_size! ** 2 * d + (bb.layers! - 1) * fullLayer + pooledLayer + d * bb.embed_dim;
const gflopPerImage = (2 * macs) / 1e9;

// 2. The machine: its CPU, and the dense-math rates ONNX Runtime reaches on it, fp32 and int8.
const cpu = cpuInfo();
const gemm: Record<'fp32' | 'int8', Record<number, number>> = { fp32: {}, int8: {} };
for (const precision of ['fp32', 'int8'] as const) {
  for (const threads of THREADS) {
    const path = join(values.cache, precision === 'fp32' ? 'gemm-vit-mlp4.onnx' : 'gemm-vit-mlp4.int8.onnx');
    gemm[precision][threads] = mustSucceed(runChild<GemmResult>({ mode: 'gemm', path, rows: 8 * 197, inner: 768, cols: 3072, blocks: 4, threads })).gflops;
  }
}
log(`${describeCpu(cpu)}; GEMM (ViT MLP shape, 2 threads): fp32 ${gemm.fp32[2]?.toFixed(0)} GFLOP/s, int8 ${gemm.int8[2]?.toFixed(0)} GOP/s`);

// Where the tower's time goes, by operator (ONNX Runtime's profile; batch 8, 2 threads).
const precisions = bundle.precisions().filter((p): p is 'fp32' | 'int8' => p === 'fp32' || p === 'int8');
const profiles = Object.fromEntries(precisions.map((precision) => [precision, mustSucceed(runChild<ProfileResult>({
  mode: 'profile', path: bundle.imageEncoderPath(precision), size: bundle.manifest.preprocess.size, batch: 8, runs: 5, threads: 2,
}))])) as Partial<Record<'fp32' | 'int8', ProfileResult>>;

// 3. Our scorer.
const rows: Row[] = [];
const scorerTask = (row: Omit<Row, 'r' | 'error'>): ScorerTask =>
  ({ mode: 'scorer', model, ...row, batchSize: row.batch, images, towerImages: Math.max(row.batch, 12), latencyImages: row.batch === 1 ? 8 : 0 });
function measure(row: Omit<Row, 'r' | 'error'>): Row {
  const result = runChild<ScorerResult>(scorerTask(row));
  const done: Row = 'error' in result ? { ...row, error: result.error.slice(0, 160) } : { ...row, r: result, runs: [result.e2e_images_per_s] };
  log(`${row.device} ${row.precision} threads ${row.threads} batch ${row.batch} ${row.resampler}: ${done.error ?? `${done.r!.e2e_images_per_s.toFixed(2)} img/s`}`);
  rows.push(done);
  return done;
}
/** Runs a measured configuration again: records the run's rate, and keeps the run if it was faster. */
function remeasure(row: Row): void {
  const again = runChild<ScorerResult>(scorerTask(row));
  if ('error' in again) return;
  row.runs!.push(again.e2e_images_per_s);
  if (again.e2e_images_per_s > e2e(row)) row.r = { ...again, peak_rss_mb: Math.max(again.peak_rss_mb, row.r!.peak_rss_mb) };
}
for (const precision of precisions) {
  for (const threads of THREADS) for (const batch of BATCHES) measure({ device: 'cpu', precision, threads, batch, resampler: 'pil' });
}
const e2e = (row: Row) => row.r?.e2e_images_per_s ?? 0;
const bestCpu = (precision: Precision) => fastestRow(rows, precision);
for (const precision of precisions) {
  const best = bestCpu(precision);
  if (best) measure({ ...best, resampler: 'libvips' });
}
for (const device of ['cuda', 'webgpu'] as const) {
  const fp32 = measure({ device, precision: 'fp32', threads: 2, batch: 16, resampler: 'pil' });
  if (fp32.r && bundle.precisions().includes('fp16')) measure({ device, precision: 'fp16', threads: 2, batch: 16, resampler: 'pil' });
}

// 4. Accuracy guards of the reduced-precision towers, on the benchmark images.
const guards = precisions.filter((p) => p !== 'fp32').map((precision) => mustSucceed(runChild<GuardResult>({ mode: 'guard', model, precision, threads: 2, images })));

// 5. The peers on the same weights and images.
const peerInputs: PeerInputs = { cache: values.cache, model, images, towers: { fp32: bundle.imageEncoderPath('fp32'), int8: precisions.includes('int8') ? bundle.imageEncoderPath('int8') : undefined } };
const peers: PeerRow[] = [];
const ourFp32Scores = rows.find((r) => r.r && r.device === 'cpu' && r.precision === 'fp32' && r.resampler === 'pil')?.r!.scores ?? [];
const record = (p: PeerRow) => {
  if (p.scores) p.maxScoreDiff = maxScoreDiff(p.scores, ourFp32Scores);
  delete p.scores;
  if (p.e2e) p.runs = [p.e2e];
  peers.push(p);
  log(`${p.peer} ${p.precision} threads ${p.threads} batch ${p.batch}: ${p.error ?? `${p.e2e!.toFixed(2)} img/s`}`);
};
const torchConfigs = values.quick ? [[2, 1], [2, 8]] as const : [[1, 1], [1, 8], [2, 1], [2, 8], [2, 32]] as const;
for (const [threads, batch] of torchConfigs) record(pytorch({ ...peerInputs, images: images.slice(0, TORCH_IMAGES) }, threads, batch));
const transformersJsVersion = (await import('@huggingface/transformers')).env.version;
for (const precision of ['fp32', 'int8'] as const) {
  for (const batch of PEER_BATCHES) {
    record(ortPython(peerInputs, precision, 2, batch));
    record(transformersJs(peerInputs, precision, 2, batch, transformersJsVersion));
  }
}

// 6. The headline configurations (ours and each peer's fastest, 2 threads) again, in alternating rounds:
// on a shared machine a slow spell would otherwise fall on whichever ran during it. Each keeps its
// fastest run; every run's rate is recorded.
const peerBest = (peer: PeerRow['peer'], precision: 'fp32' | 'int8') => fastestPeer(peers, peer, precision);
for (let round = 1; round < ROUNDS; round++) {
  log(`round ${round + 1} of ${ROUNDS} of the headline configurations`);
  for (const precision of precisions) {
    const ours = bestCpu(precision);
    if (ours) remeasure(ours);
    const orts = peerBest('ONNX Runtime Python', precision);
    if (orts) keepFaster(orts, ortPython(peerInputs, precision, 2, orts.batch));
    const tjs = peerBest('transformers.js', precision);
    if (tjs) keepFaster(tjs, transformersJs(peerInputs, precision, 2, tjs.batch, transformersJsVersion));
  }
  const torch = peerBest('PyTorch', 'fp32');
  if (torch) keepFaster(torch, pytorch({ ...peerInputs, images: images.slice(0, TORCH_IMAGES) }, 2, torch.batch));
}
/** The same for a peer: records the rerun's rate, and keeps it if it was faster. */
function keepFaster(best: PeerRow, again: PeerRow): void {
  if (!again.e2e) return;
  best.runs!.push(again.e2e);
  best.peakRssMb = Math.max(best.peakRssMb ?? 0, again.peakRssMb ?? 0);
  if (again.e2e > best.e2e!) Object.assign(best, { e2e: again.e2e, tower: again.tower });
}

// 7. What scoring against the prompt costs.
const alignment = measureAlignment();

// 8. Report.
const date = new Date().toISOString().slice(0, 10);
const software = `Node ${process.versions.node}, onnxruntime-node ${ort.env.versions.node}, ${peers.filter((p) => p.version).map((p) => `${p.peer} ${p.version}`)
  .filter((v, i, all) => all.indexOf(v) === i).join(', ')}`;
const report = buildReport({
  date, cpu, memoryGiB: totalmem() / 2 ** 30, software, gflopPerImage, gemm, threads: THREADS, images: images.length, torchImages: TORCH_IMAGES,
  rounds: ROUNDS, rows, peers, guards, profiles, alignment, batchDiff: Object.fromEntries(precisions.filter((p) => p !== 'fp32').map((p) => [p, bundle.manifest.image_encoder.accuracy?.[p]?.max_batch_diff])),
  seconds: (performance.now() - started) / 1000,
});
mkdirSync(values.out, { recursive: true });
writeFileSync(join(values.out, 'report.md'), `${report.markdown}\n`);
writeFileSync(join(values.out, 'report.json'), `${JSON.stringify({ date, cpu, software, gflop_per_image: gflopPerImage, gemm, images: images.length, rounds: ROUNDS, rows, peers,
  guards, profiles, alignment, targets: report.targets, seconds: (performance.now() - started) / 1000 }, null, 2)}\n`);
process.stdout.write(`${report.markdown}\n`);
