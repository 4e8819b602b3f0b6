import { Worker } from 'node:worker_threads';

import { BundleError, ClipAgiqaError, DeviceError, InferenceError, UsageError } from '../errors.js';
import type { ExecutionDevice, SessionOptions } from './device.js';
import type { TowerRequest, TowerResponse } from './tower-protocol.js';

interface Pending {
  resolve: (r: { embeds: Float32Array; runMs: number }) => void;
  reject: (e: unknown) => void;
  count: number;
}

function toError(r: Extract<TowerResponse, { type: 'error' }>, source: string): ClipAgiqaError {
  const Kind = r.kind === 'device' ? DeviceError : r.kind === 'usage' ? UsageError : r.kind === 'bundle' ? BundleError : InferenceError;
  return new Kind(r.code, r.message, r.kind === 'bundle' || r.kind === 'other' ? { input: source } : {});
}

/** How to call an image encoder graph: its tensor names, and whether it must see one image per run. */
export interface TowerIo {
  input: string;
  output: string;
  perImage?: boolean;
}

/**
 * The bundle's image encoder, pixel_values [N,3,S,S] -> image_embeds [N,D], running on a worker thread.
 * Pixel buffers are transferred to the worker, not copied: callers must not reuse them.
 */
export class ImageTower {
  private nextId = 0;
  private readonly pending = new Map<number, Pending>();

  private constructor(
    private readonly worker: Worker,
    readonly device: ExecutionDevice,
    readonly size: number,
    readonly embedDim: number,
    private readonly source: string,
  ) {
    worker.on('message', (r: TowerResponse) => this.onMessage(r));
    worker.on('error', (e) => this.failAll(e));
    worker.on('exit', (code) => this.failAll(new InferenceError('WORKER_EXITED', `inference worker exited (code ${code})`, { input: source })));
    worker.unref();
  }

  static async open(path: string, io: TowerIo, size: number, embedDim: number, options: SessionOptions): Promise<ImageTower> {
    const worker = new Worker(new URL('./tower-worker.js', import.meta.url));
    const opened = await new Promise<TowerResponse>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
      worker.postMessage({ type: 'open', path, options, inputName: io.input, outputName: io.output, perImage: io.perImage ?? false } satisfies TowerRequest);
    });
    if (opened.type === 'error') {
      await worker.terminate();
      throw toError(opened, path);
    }
    if (opened.type !== 'opened') throw new InferenceError('INFERENCE_FAILED', `unexpected reply from the inference worker: ${opened.type}`, { input: path });
    if (!opened.inputNames.includes(io.input) || !opened.outputNames.includes(io.output)) {
      await worker.terminate();
      throw new BundleError('SHAPE_MISMATCH',
        `image encoder has inputs [${opened.inputNames}] and outputs [${opened.outputNames}], the manifest names ${io.input} -> ${io.output}`, { input: path });
    }
    return new ImageTower(worker, opened.device, size, embedDim, path);
  }

  /** Embeds `count` images laid out in `pixels` as [count,3,S,S]; also returns the run's duration. */
  embed(pixels: Float32Array, count: number): Promise<{ embeds: Float32Array; runMs: number }> {
    const plane = 3 * this.size * this.size;
    if (pixels.length !== count * plane) {
      return Promise.reject(new UsageError('SHAPE_MISMATCH', `pixel tensor has ${pixels.length} values, ${count} images of 3x${this.size}x${this.size} need ${count * plane}`));
    }
    const id = this.nextId++;
    const buffer = pixels.byteOffset === 0 && pixels.byteLength === pixels.buffer.byteLength ? pixels.buffer : pixels.slice().buffer;
    return new Promise((resolve, reject) => {
      if (this.pending.size === 0) this.worker.ref();
      this.pending.set(id, { resolve, reject, count });
      this.worker.postMessage({ type: 'run', id, pixels: buffer as ArrayBuffer, count, size: this.size } satisfies TowerRequest, [buffer as ArrayBuffer]);
    });
  }

  private settle(id: number): Pending | undefined {
    const p = this.pending.get(id);
    this.pending.delete(id);
    if (this.pending.size === 0) this.worker.unref();
    return p;
  }

  private onMessage(r: TowerResponse): void {
    if (r.type === 'result') {
      const p = this.settle(r.id);
      if (!p) return;
      const { dims, dtype } = r;
      if (dtype !== 'float32' || dims.length !== 2 || dims[0] !== p.count || dims[1] !== this.embedDim) {
        p.reject(new BundleError('SHAPE_MISMATCH', `image encoder returned ${dtype} [${dims}], expected float32 [${p.count},${this.embedDim}]`, { input: this.source }));
      } else p.resolve({ embeds: new Float32Array(r.embeds), runMs: r.runMs });
    } else if (r.type === 'error' && r.id !== undefined) {
      this.settle(r.id)?.reject(toError(r, this.source));
    }
  }

  private failAll(e: unknown): void {
    for (const id of [...this.pending.keys()]) this.settle(id)?.reject(e);
  }

  async close(): Promise<void> {
    this.worker.removeAllListeners('exit');
    await this.worker.terminate();
  }
}
