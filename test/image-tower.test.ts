import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { describe, it } from 'node:test';

import { InferenceError } from '@clip-agiqa/core';

// The built module: the tower starts its worker from the compiled tower-worker.js beside it.
import { ImageTower } from '../packages/core/dist/runtime/image-tower.js';

/** A stand-in for the inference worker thread that takes requests and can die, without ONNX Runtime in the way. */
class DyingWorker extends EventEmitter {
  readonly posted: unknown[] = [];
  postMessage(message: unknown): void {
    this.posted.push(message);
  }
  ref(): void {}
  unref(): void {}
  async terminate(): Promise<number> {
    return 1;
  }
}

describe('image tower', () => {
  it('fails the images in flight with WORKER_EXITED when its worker dies', async () => {
    const worker = new DyingWorker();
    const Tower = ImageTower as unknown as new (worker: DyingWorker, device: string, size: number, embedDim: number, source: string) => ImageTower;
    const tower = new Tower(worker, 'cpu', 8, 4, 'image_encoder.onnx');
    const running = tower.embed(new Float32Array(3 * 8 * 8), 1);
    assert.equal(worker.posted.length, 1, 'the request reached the worker');
    worker.emit('exit', 1);
    await assert.rejects(running, (e: unknown) => e instanceof InferenceError && e.code === 'WORKER_EXITED' && /inference worker exited \(code 1\)/.test(e.message));
  });
});
