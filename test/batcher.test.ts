import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { MicroBatcher, Semaphore } from '@clip-agiqa/core/internal';

const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('micro-batching', () => {
  it('runs at once when idle and fills batches while busy', async () => {
    const batches: number[][] = [];
    const b = new MicroBatcher<number, number>(async (items) => {
      batches.push(items);
      await tick(20);
      return items.map((x) => x * 10);
    }, 4);
    const first = b.push(1);
    await tick(5); // the first batch is running with one item
    const rest = [2, 3, 4, 5, 6, 7].map((x) => b.push(x));
    assert.deepEqual(await Promise.all([first, ...rest]), [10, 20, 30, 40, 50, 60, 70]);
    assert.deepEqual(batches, [[1], [2, 3, 4, 5], [6, 7]]);
  });

  it('waits up to maxWaitMs to gather a batch when asked, never longer', async () => {
    const batches: number[][] = [];
    const b = new MicroBatcher<number, number>(async (items) => {
      batches.push(items);
      return items;
    }, 8, 30);
    const started = performance.now();
    const a = b.push(1);
    await tick(5);
    await Promise.all([a, b.push(2)]);
    const waited = performance.now() - started;
    assert.deepEqual(batches, [[1, 2]]);
    assert.ok(waited >= 25 && waited < 200, `waited ${waited} ms`);
  });

  it('rejects every request of a failed batch and keeps serving', async () => {
    let fail = true;
    const b = new MicroBatcher<number, number>(async (items) => {
      if (fail) throw new Error('boom');
      return items;
    }, 2);
    await assert.rejects(b.push(1), /boom/);
    fail = false;
    assert.equal(await b.push(2), 2);
    await b.idle();
  });

  it('bounds concurrent work with a semaphore', async () => {
    const s = new Semaphore(2);
    let active = 0;
    let peak = 0;
    await Promise.all(Array.from({ length: 10 }, () => s.run(async () => {
      active++;
      peak = Math.max(peak, active);
      await tick(2);
      active--;
    })));
    assert.equal(peak, 2);
  });
});
