import { statSync } from 'node:fs';
import { availableParallelism } from 'node:os';

import { UsageError } from '../errors.js';
import type { SessionOptions } from './device.js';
import { ImageTower } from './image-tower.js';

/** Towers up to this size get one session per thread; larger ones a single session. */
export const POOL_MAX_MODEL_BYTES = 160 * 1024 * 1024;

/** What the scorer needs of an image tower, one session or several. */
export interface Tower {
  readonly device: ImageTower['device'];
  readonly size: number;
  readonly embedDim: number;
  embed(pixels: Float32Array, count: number): Promise<{ embeds: Float32Array; runMs: number }>;
  close(): Promise<void>;
}

export interface PoolPlan {
  workers: number;
  threadsPerWorker: number;
}

/**
 * How to run a tower on a CPU: one session per thread when the model is small enough to hold that many
 * times, each session free to use every thread (without spin-waiting, since they share the cores). A
 * batch is split so each session computes whole images; a lone image still gets every core. An image's
 * matrix products are small (197 rows for ViT-B/16), so threads that split one image spend a good share
 * of the time waiting on each other; sessions that each take whole images do not. Large fp32 towers keep
 * one session, whose memory would otherwise multiply.
 */
export function poolPlan(path: string, options: SessionOptions): PoolPlan {
  const threads = options.threads ?? availableParallelism();
  if ((options.device ?? 'cpu') !== 'cpu' || threads < 2 || statSync(path).size > POOL_MAX_MODEL_BYTES) return { workers: 1, threadsPerWorker: threads };
  return { workers: threads, threadsPerWorker: threads };
}

/** Several towers, each on its own worker thread; a batch is split into contiguous runs of images, one per tower. */
export class TowerPool implements Tower {
  private constructor(private readonly towers: ImageTower[]) {}

  get device() {
    return this.towers[0]!.device;
  }

  get size() {
    return this.towers[0]!.size;
  }

  get embedDim() {
    return this.towers[0]!.embedDim;
  }

  static async open(path: string, io: { input: string; output: string }, size: number, embedDim: number, options: SessionOptions,
    plan: PoolPlan): Promise<TowerPool> {
    const session = { ...options, threads: plan.threadsPerWorker, spinning: plan.threadsPerWorker > 1 ? false : options.spinning };
    const opened = await Promise.allSettled(Array.from({ length: plan.workers }, () => ImageTower.open(path, io, size, embedDim, session)));
    const towers = opened.flatMap((o) => (o.status === 'fulfilled' ? [o.value] : []));
    const failed = opened.find((o) => o.status === 'rejected');
    if (failed) {
      await Promise.all(towers.map((t) => t.close()));
      throw failed.reason;
    }
    return new TowerPool(towers);
  }

  async embed(pixels: Float32Array, count: number): Promise<{ embeds: Float32Array; runMs: number }> {
    const plane = 3 * this.size * this.size;
    if (pixels.length !== count * plane) {
      throw new UsageError('SHAPE_MISMATCH', `pixel tensor has ${pixels.length} values, ${count} images of 3x${this.size}x${this.size} need ${count * plane}`);
    }
    if (count === 0) return { embeds: new Float32Array(0), runMs: 0 };
    const parts = Math.min(this.towers.length, count);
    const runs: Promise<{ embeds: Float32Array; runMs: number }>[] = [];
    for (let i = 0, start = 0; i < parts; i++) {
      const n = Math.floor(count / parts) + (i < count % parts ? 1 : 0);
      runs.push(this.towers[i]!.embed(pixels.subarray(start * plane, (start + n) * plane), n));
      start += n;
    }
    const done = await Promise.all(runs);
    const embeds = new Float32Array(count * this.embedDim);
    let offset = 0;
    for (const d of done) {
      embeds.set(d.embeds, offset);
      offset += d.embeds.length;
    }
    return { embeds, runMs: Math.max(...done.map((d) => d.runMs)) };
  }

  async close(): Promise<void> {
    await Promise.all(this.towers.map((t) => t.close()));
  }
}

/** Opens the image tower as one session, or as a pool of sessions where that is faster (see poolPlan). */
export async function openTower(path: string, io: { input: string; output: string }, size: number, embedDim: number,
  options: SessionOptions, plan = poolPlan(path, options)): Promise<Tower> {
  return plan.workers > 1 ? TowerPool.open(path, io, size, embedDim, options, plan) : ImageTower.open(path, io, size, embedDim, options);
}
