// One benchmark measurement in its own process, so that its peak RSS is its own. Prints one JSON line.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import * as ort from 'onnxruntime-node';

import { createScorer, isFailure, loadBundle, type Bundle, type Device, type Precision, type Resampler } from '@clip-agiqa/core';
import { clipPixels, openSession, preprocessConfig } from '@clip-agiqa/core/internal';

import { alignmentTask, type AlignmentResult, type AlignmentTask } from './alignment.js';
import { openTower } from './tower-pool.js';

export interface ScorerTask {
  mode: 'scorer';
  model: string;
  precision: Precision;
  threads: number;
  batchSize: number;
  device: Device;
  resampler: Resampler;
  images: string[];
  towerImages: number;
  /** Sequential single-image calls timed for latency percentiles (0: skip). */
  latencyImages: number;
}
export interface GuardTask { mode: 'guard'; model: string; precision: Precision; threads: number; images: string[] }
export interface GemmTask { mode: 'gemm'; path: string; rows: number; inner: number; cols: number; blocks: number; threads: number }
/** ONNX Runtime's own per-operator profile of a tower, fed random pixels: where its time goes. */
export interface ProfileTask { mode: 'profile'; path: string; size: number; batch: number; runs: number; threads: number }
export type ChildTask = ScorerTask | GuardTask | GemmTask | ProfileTask | AlignmentTask;

export interface ScorerResult {
  images: number;
  failed: number;
  device: string;
  e2e_images_per_s: number;
  tower_images_per_s: number;
  latency_p50_ms: number | null;
  latency_p95_ms: number | null;
  /** Preprocessing measured alone, one image at a time: its true cost per image. */
  preprocess_ms_per_image: number;
  /** Within the scored run: packing the batch tensor, image-tower runs and heads, per image. */
  pack_ms_per_image: number;
  tower_ms_per_image: number;
  heads_ms_per_image: number;
  peak_rss_mb: number;
  /** The first head's score of each image, in order (null where it failed): to check the peers agree. */
  scores: (number | null)[];
}
export interface GuardResult { precision: Precision; images: number; min_cosine: number; mean_cosine: number; max_score_drift: number; mean_score_drift: number; peak_rss_mb: number }
export interface GemmResult { gflops: number; peak_rss_mb: number }
/** The fastest profiled run: its duration and milliseconds by operator type (the operators inside a Scan counted, not the Scan itself). */
export interface ProfileResult { batch: number; run_ms: number; ops: Record<string, number> }
export type ChildResult = ScorerResult | GuardResult | GemmResult | ProfileResult | AlignmentResult | { error: string };

const percentile = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))]!;
const peakRssMb = () => process.resourceUsage().maxRSS / 1024;

/** The tower as the scorer runs it (one session, or one per core for small towers), fed ready tensors. */
async function towerAlone(path: string, bundle: Bundle, threads: number, device: Device, batch: number, images: number): Promise<number> {
  const { image_encoder: io, preprocess, backbone } = bundle.manifest;
  const tower = await openTower(path, { input: io.input, output: io.output }, preprocess.size, backbone.embed_dim, { threads, device });
  const x = new Float32Array(batch * 3 * preprocess.size ** 2).map(() => Math.random() * 2 - 1);
  await tower.embed(x.slice(), batch);
  const runs = Math.max(1, Math.round(images / batch));
  const started = performance.now();
  for (let i = 0; i < runs; i++) await tower.embed(x.slice(), batch);
  const rate = (runs * batch) / ((performance.now() - started) / 1000);
  await tower.close();
  return rate;
}
async function scorerTask(t: ScorerTask): Promise<ScorerResult> {
  const cfg = preprocessConfig((await loadBundle(t.model, { verifyChecksums: false })).manifest.preprocess, t.resampler);
  const preprocessStart = performance.now();
  for (const image of t.images) await clipPixels(image, image, cfg);
  const preprocessMs = (performance.now() - preprocessStart) / t.images.length;

  const scorer = await createScorer({ model: t.model, precision: t.precision, threads: t.threads, batchSize: t.batchSize, device: t.device,
    resampler: t.resampler, verifyChecksums: false });
  try {
    await scorer.score(t.images.slice(0, t.batchSize)); // warm-up
    const before = scorer.stats();
    const started = performance.now();
    const outcomes = await scorer.score(t.images);
    const seconds = (performance.now() - started) / 1000;
    const after = scorer.stats();
    const n = after.images - before.images;
    const latencies: number[] = [];
    for (const image of t.images.slice(0, t.latencyImages)) {
      const s = performance.now();
      await scorer.score(image);
      latencies.push(performance.now() - s);
    }
    const { bundle } = scorer;
    const towerPath = bundle.imageEncoderPath(t.precision);
    const device = scorer.device;
    await scorer.close();
    return {
      images: t.images.length, failed: outcomes.filter(isFailure).length, device, e2e_images_per_s: t.images.length / seconds,
      tower_images_per_s: await towerAlone(towerPath, bundle, t.threads, device, t.batchSize, t.towerImages),
      latency_p50_ms: latencies.length ? percentile(latencies, 0.5) : null,
      latency_p95_ms: latencies.length ? percentile(latencies, 0.95) : null,
      preprocess_ms_per_image: preprocessMs,
      pack_ms_per_image: (after.packMs - before.packMs) / n,
      tower_ms_per_image: (after.towerMs - before.towerMs) / n,
      heads_ms_per_image: (after.headMs - before.headMs) / n,
      peak_rss_mb: peakRssMb(),
      scores: outcomes.map((o) => (isFailure(o) ? null : Object.values(o.scores)[0]!)),
    };
  } finally {
    await scorer.close();
  }
}

function cosine(a: Float32Array, b: Float32Array): number {
  let dot = 0, na = 0, nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! ** 2;
    nb += b[i]! ** 2;
  }
  return dot / Math.sqrt(na * nb);
}

async function guardTask(t: GuardTask): Promise<GuardResult> {
  const open = (precision: Precision) => createScorer({ model: t.model, precision, threads: t.threads, verifyChecksums: false });
  const reference = await open('fp32');
  const reduced = await open(t.precision);
  const cosines: number[] = [];
  const drifts: number[] = [];
  for (const image of t.images) {
    const [a, b] = [await reference.embed(image), await reduced.embed(image)];
    cosines.push(cosine(a, b));
    for (const head of reference.bundle.heads) drifts.push(Math.abs(head.score(a, 1)[0]! - head.score(b, 1)[0]!));
  }
  await reference.close();
  await reduced.close();
  const mean = (xs: number[]) => xs.reduce((x, y) => x + y, 0) / xs.length;
  return { precision: t.precision, images: t.images.length, min_cosine: Math.min(...cosines), mean_cosine: mean(cosines),
    max_score_drift: Math.max(...drifts), mean_score_drift: mean(drifts), peak_rss_mb: peakRssMb() };
}

async function gemmTask(t: GemmTask): Promise<GemmResult> {
  const { session } = await openSession(t.path, { threads: t.threads });
  const x = new ort.Tensor('float32', new Float32Array(t.rows * t.inner).map(() => Math.random()), [t.rows, t.inner]);
  await session.run({ x });
  // The fastest of several runs: the rate the kernels reach, not the average over a shared machine's slow spells.
  let seconds = Infinity;
  for (let i = 0; i < 8; i++) {
    const started = performance.now();
    await session.run({ x });
    seconds = Math.min(seconds, (performance.now() - started) / 1000);
  }
  // Each block: (rows x inner) @ (inner x cols) then @ (cols x inner).
  return { gflops: (t.blocks * 2 * 2 * t.rows * t.inner * t.cols) / seconds / 1e9, peak_rss_mb: peakRssMb() };
}

const CONTROL_FLOW = new Set(['Scan', 'Loop', 'If']);

async function profileTask(t: ProfileTask): Promise<ProfileResult> {
  const dir = mkdtempSync(join(tmpdir(), 'clip-agiqa-profile-'));
  try {
    const { session } = await openSession(t.path, { threads: t.threads, profileFilePrefix: join(dir, 'tower') });
    const x = new ort.Tensor('float32', new Float32Array(t.batch * 3 * t.size ** 2).map(() => Math.random() * 2 - 1), [t.batch, 3, t.size, t.size]);
    const feeds = { [session.inputNames[0]!]: x };
    await session.run(feeds);
    for (let i = 0; i < t.runs; i++) await session.run(feeds);
    session.endProfiling();
    await session.release();
    type Event = { cat: string; name: string; ts: number; dur: number; args?: { op_name?: string } };
    const events = JSON.parse(readFileSync(join(dir, readdirSync(dir)[0]!), 'utf8')) as Event[];
    // The fastest run (the first one warms up), so that a slow spell of a shared machine does not skew the shares.
    const fastest = events.filter((e) => e.cat === 'Session' && e.name === 'model_run').slice(1).reduce((a, b) => (b.dur < a.dur ? b : a));
    const ops: Record<string, number> = {};
    for (const e of events) {
      const op = e.args?.op_name;
      if (e.cat !== 'Node' || !e.name.endsWith('_kernel_time') || !op || CONTROL_FLOW.has(op)) continue;
      if (e.ts < fastest.ts || e.ts > fastest.ts + fastest.dur) continue;
      ops[op] = (ops[op] ?? 0) + e.dur / 1000;
    }
    return { batch: t.batch, run_ms: fastest.dur / 1000, ops };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[2]) {
  const task = JSON.parse(process.argv[2]) as ChildTask;
  let result: ChildResult;
  try {
    result = task.mode === 'scorer' ? await scorerTask(task) : task.mode === 'guard' ? await guardTask(task)
      : task.mode === 'gemm' ? await gemmTask(task) : task.mode === 'alignment' ? await alignmentTask(task) : await profileTask(task);
  } catch (e) {
    result = { error: (e as Error).message };
  }
  process.stdout.write(`${JSON.stringify(result)}\n`);
}
