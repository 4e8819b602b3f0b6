import assert from 'node:assert/strict';
import { join } from 'node:path';

import { createScorer, isFailure, type Precision } from '@clip-agiqa/core';

import { IMAGES, reference } from './helpers.js';

const paths = Object.keys(reference().images).sort().map((n) => join(IMAGES, n));

/**
 * Scores the fixture images alone, then in batches of each size (forwards and reversed). fp32 and int8 (one
 * activation scale per image) must give the very same score; fp16, a GPU format that ONNX Runtime's CPU
 * kernels run with other summation orders per batch size, within 1e-5.
 */
export async function assertBatchInvariant(model: string, precision: Precision, batchSizes: number[]): Promise<void> {
  const tolerance = precision === 'fp16' ? 1e-5 : 0;
  const single = await createScorer({ model, precision, batchSize: 1 });
  try {
    const alone: number[] = [];
    for (const p of paths) alone.push((await single.score(p)).scores.quality!);
    for (const batchSize of batchSizes) {
      // Batches of one run on the scorer that scored the images alone: a second session of the same graph proves nothing more.
      const s = batchSize === 1 ? single : await createScorer({ model, precision, batchSize });
      try {
        for (const order of [paths, [...paths].reverse()]) {
          for (const o of await s.score(order)) {
            assert.ok(!isFailure(o));
            const i = paths.indexOf(o.id);
            assert.ok(Math.abs(o.scores.quality! - alone[i]!) <= tolerance, `${precision} batch ${batchSize}: ${o.id} ${o.scores.quality} vs ${alone[i]} alone`);
          }
        }
      } finally {
        if (s !== single) await s.close();
      }
    }
  } finally {
    await single.close();
  }
}
