// The peers a user would otherwise pick, on the same weights and images, each in its own process:
// PyTorch eager, ONNX Runtime's Python API on the bundle's ONNX towers, and transformers.js on the same
// tower in its own layout.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import type { TransformersJsTask } from './transformersjs-reference.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

export type PeerName = 'PyTorch' | 'ONNX Runtime Python' | 'transformers.js';
export interface PeerRow {
  peer: PeerName;
  /** fp32, or int8 for the peer's own reduced precision (transformers.js: q8). */
  precision: 'fp32' | 'int8';
  threads: number;
  batch: number;
  e2e?: number;
  tower?: number;
  peakRssMb?: number;
  version?: string;
  /** Largest |score difference| to our fp32 scores of the same images: the peers run the same model. */
  maxScoreDiff?: number;
  scores?: number[];
  /** End-to-end rate of every run of this configuration, in order (e2e and tower are the fastest run's). */
  runs?: number[];
  error?: string;
}
interface PeerOutput { e2e_images_per_s: number; tower_images_per_s: number; peak_rss_mb: number; scores: number[]; version?: string }

function parse(r: ReturnType<typeof spawnSync>, what: string): PeerOutput | { error: string } {
  const last = String(r.stdout ?? '').trim().split('\n').pop();
  if (r.status !== 0 || !last) return { error: `${what} exited ${r.status}: ${String(r.stderr ?? '').trim().split('\n').slice(-3).join(' ').slice(0, 300)}` };
  return JSON.parse(last) as PeerOutput;
}

/** Largest |difference| between a peer's scores and ours over the images both scored. */
export function maxScoreDiff(peer: number[], ours: (number | null)[]): number | undefined {
  const diffs = peer.map((s, i) => (ours[i] == null ? undefined : Math.abs(s - ours[i]!))).filter((d) => d !== undefined);
  return diffs.length ? Math.max(...diffs) : undefined;
}

function row(base: Omit<PeerRow, 'e2e' | 'tower'>, out: PeerOutput | { error: string }): PeerRow {
  if ('error' in out) return { ...base, error: out.error };
  return { ...base, e2e: out.e2e_images_per_s, tower: out.tower_images_per_s, peakRssMb: out.peak_rss_mb, scores: out.scores, version: out.version ?? base.version };
}

const python = (script: string, args: string[]) =>
  spawnSync('python3', [join(ROOT, 'bench', script), ...args], { encoding: 'utf8', maxBuffer: 1 << 26 });

export interface PeerInputs {
  cache: string;
  /** The clip-agiqa bundle: its ONNX towers and its head. */
  model: string;
  /** Files of the bundle's fp32 and int8 towers. */
  towers: { fp32: string; int8?: string };
  images: string[];
}

export function pytorch(inputs: PeerInputs, threads: number, batch: number): PeerRow {
  const out = python('torch_reference.py', [join(inputs.cache, 'vit-b-16-torch'), join(inputs.model, 'heads/quality.safetensors'),
    String(threads), String(batch), String(Math.max(batch, 8)), ...inputs.images]);
  return row({ peer: 'PyTorch', precision: 'fp32', threads, batch }, parse(out, 'bench/torch_reference.py'));
}

export function ortPython(inputs: PeerInputs, precision: 'fp32' | 'int8', threads: number, batch: number): PeerRow {
  const tower = inputs.towers[precision];
  if (!tower) return { peer: 'ONNX Runtime Python', precision, threads, batch, error: `the bundle has no ${precision} tower` };
  const out = python('ort_python_reference.py', [tower, join(inputs.model, 'heads/quality.safetensors'), String(threads), String(batch),
    String(Math.max(batch, 12)), ...inputs.images]);
  return row({ peer: 'ONNX Runtime Python', precision, threads, batch }, parse(out, 'bench/ort_python_reference.py'));
}

export function transformersJs(inputs: PeerInputs, precision: 'fp32' | 'int8', threads: number, batch: number, version: string): PeerRow {
  const task: TransformersJsTask = {
    root: join(inputs.cache, 'transformersjs'), modelId: 'clip-vit-b-16', dtype: precision === 'int8' ? 'q8' : 'fp32', threads, batch,
    towerImages: Math.max(batch, 12), bundle: inputs.model, images: inputs.images,
  };
  const out = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'bench/transformersjs-reference.ts'), JSON.stringify(task)],
    { encoding: 'utf8', maxBuffer: 1 << 26 });
  return row({ peer: 'transformers.js', precision, threads, batch, version }, parse(out, 'bench/transformersjs-reference.ts'));
}
