import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { Worker } from 'node:worker_threads';
import { describe, it } from 'node:test';

import { InferenceError } from '@clip-agiqa/core';

// The built module: the tower starts its worker from the compiled tower-worker.js beside it.
import { ImageTower } from '../packages/core/dist/runtime/image-tower.js';
import { DEMO_MODEL_DIR } from './support/helpers.js';

describe('image tower', () => {
  it('fails the images in flight with WORKER_EXITED when its worker dies', async () => {
    const tower = await ImageTower.open(join(DEMO_MODEL_DIR, 'image_encoder.onnx'), { input: 'pixel_values', output: 'image_embeds' }, 224, 64, { device: 'cpu' });
    const running = tower.embed(new Float32Array(3 * 224 * 224), 1);
    await (tower as unknown as { worker: Worker }).worker.terminate();
    await assert.rejects(running, (e: unknown) => e instanceof InferenceError && e.code === 'WORKER_EXITED' && /inference worker exited/.test(e.message));
    await tower.close();
  });
});
