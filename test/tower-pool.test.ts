import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { loadBundle } from '@clip-agiqa/core';
import { openTower, poolPlan, TowerPool } from '../bench/tower-pool.js';

import { DEMO_MODEL_DIR } from './support/helpers.js';

const bundle = await loadBundle(DEMO_MODEL_DIR);
const { image_encoder: io, preprocess, backbone } = bundle.manifest;
const plane = 3 * preprocess.size ** 2;

function pixels(count: number): Float32Array {
  const x = new Float32Array(count * plane);
  for (let i = 0; i < x.length; i++) x[i] = Math.sin(i * 0.37) * 1.5;
  return x;
}

describe('tower pool', () => {
  it('splits a batch over several towers and returns the embeddings in input order', async () => {
    for (const precision of bundle.precisions()) {
      const path = bundle.imageEncoderPath(precision);
      const single = await openTower(path, io, preprocess.size, backbone.embed_dim, { threads: 1 });
      const pool = await TowerPool.open(path, io, preprocess.size, backbone.embed_dim, {}, { workers: 3, threadsPerWorker: 2 });
      try {
        for (const count of [1, 2, 7]) {
          const expected = (await single.embed(pixels(count), count)).embeds;
          const got = (await pool.embed(pixels(count), count)).embeds;
          assert.equal(got.length, count * backbone.embed_dim);
          const worst = got.reduce((m, v, i) => Math.max(m, Math.abs(v - expected[i]!)), 0);
          assert.ok(worst <= 1e-5, `${precision}, ${count} images: max |diff| ${worst}`);
        }
        await assert.rejects(pool.embed(new Float32Array(plane), 2), (e: Error & { code?: string }) => e.code === 'SHAPE_MISMATCH');
      } finally {
        await single.close();
        await pool.close();
      }
    }
  });

  it('runs one session with every thread by default', () => {
    assert.deepEqual(poolPlan({ threads: 3 }), { workers: 1, threadsPerWorker: 3 });
  });
});
