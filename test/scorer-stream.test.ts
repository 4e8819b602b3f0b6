// Library use over many images: progress, cancellation and results in completion order.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { createScorer, isFailure, type ImageInput, type ScoreOutcome, type Scorer } from '@clip-agiqa/core';
import sharp from 'sharp';

import { DEMO_MODEL_DIR, IMAGES } from './support/helpers.js';

const SMALL = ['landscape.jpg', 'square.png', 'wide.webp', 'portrait.jpg'].map((f) => `${IMAGES}/${f}`);
const many = (n: number): string[] => Array.from({ length: n }, (_, i) => SMALL[i % SMALL.length]!);

describe('score() progress and cancellation, scoreStream()', () => {
  let scorer: Scorer;
  let big: Buffer;
  before(async () => {
    scorer = await createScorer({ model: DEMO_MODEL_DIR, batchSize: 1, concurrency: 2, threads: 1 });
    // A large image decodes and resizes far slower than the small ones.
    big = await sharp({ create: { width: 4000, height: 4000, channels: 3, background: { r: 200, g: 30, b: 90 } } }).png().toBuffer();
  });
  after(() => scorer.close());

  it('onProgress reports each image as it completes, failures counted', async () => {
    const inputs: ImageInput[] = [...many(5), Buffer.from('not an image')];
    const seen: { done: number; total: number; failed: number; index: number }[] = [];
    const outcomes = await scorer.score(inputs, { onProgress: (p) => seen.push({ done: p.done, total: p.total, failed: p.failed, index: p.outcome.index }) });
    assert.deepEqual(seen.map((p) => p.done), [1, 2, 3, 4, 5, 6]);
    assert.ok(seen.every((p) => p.total === 6));
    assert.equal(seen.at(-1)!.failed, 1);
    assert.deepEqual(seen.map((p) => p.index).sort(), [0, 1, 2, 3, 4, 5]);
    assert.ok(isFailure(outcomes[5]!));
  });

  it('an AbortSignal rejects at once with its reason, and images not yet started never run', async () => {
    const before = scorer.stats().images;
    const controller = new AbortController();
    const started = performance.now();
    const run = scorer.score(many(60), { signal: controller.signal, onProgress: (p) => { if (p.done === 2) controller.abort(); } });
    await assert.rejects(run, (e: unknown) => (e as Error).name === 'AbortError');
    assert.ok(performance.now() - started < 5000);
    await new Promise((r) => setTimeout(r, 300)); // what was already running finishes
    assert.ok(scorer.stats().images - before < 10, `${scorer.stats().images - before} of 60 images ran`);
    await assert.rejects(scorer.score(many(2), { signal: AbortSignal.abort() }), (e: unknown) => (e as Error).name === 'AbortError');
  });

  it('scoreStream yields every outcome once, in completion order, with its input index', async () => {
    const inputs: ImageInput[] = [big, ...many(6)];
    const expected = await scorer.score(inputs);
    const order: number[] = [];
    for await (const outcome of scorer.scoreStream(inputs)) {
      order.push(outcome.index);
      assert.deepEqual((outcome as { scores?: unknown }).scores, (expected[outcome.index] as { scores?: unknown }).scores);
    }
    assert.deepEqual([...order].sort(), [0, 1, 2, 3, 4, 5, 6]);
    assert.notEqual(order[0], 0, 'the slow first image does not hold back the others');
  });

  it('scoreStream reads an async iterable lazily and stops reading when the loop breaks', async () => {
    let pulled = 0;
    async function* source(): AsyncGenerator<string> {
      for (const path of many(50)) {
        pulled++;
        yield path;
      }
    }
    const got: ScoreOutcome[] = [];
    for await (const outcome of scorer.scoreStream(source())) {
      got.push(outcome);
      if (got.length === 3) break;
    }
    assert.equal(got.length, 3);
    assert.ok(pulled <= 3 + 2 + 1, `${pulled} inputs read for 3 results with a window of 2`);
  });
});
