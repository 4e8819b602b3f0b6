import { availableParallelism } from 'node:os';

import { UsageError } from '@clip-agiqa/core';
import { ImageTower, type SessionOptions, type TowerIo } from '@clip-agiqa/core/internal';

// The benchmark's alternative to the scorer's one session per tower: several sessions on worker threads,
// kept to measure other CPUs with (bench/session-plans.ts).

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
 * How to run a tower: one session with every thread. Measured on Zen 5 (2 cores, ViT-B/16, bench/session-plans.ts):
 * one spin-waiting session was fastest at batch 1 and 8 for fp32 and int8; one session per thread with
 * whole images each was within 5% at batch 8 and half as fast for a lone image. The pool stays available
 * to measure other CPUs with.
 */
export function poolPlan(options: SessionOptions): PoolPlan {
  return { workers: 1, threadsPerWorker: options.threads ?? availableParallelism() };
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

  static async open(path: string, io: TowerIo, size: number, embedDim: number, options: SessionOptions,
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
export async function openTower(path: string, io: TowerIo, size: number, embedDim: number,
  options: SessionOptions, plan = poolPlan(options)): Promise<Tower> {
  return plan.workers > 1 ? TowerPool.open(path, io, size, embedDim, options, plan) : ImageTower.open(path, io, size, embedDim, options);
}
