import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { describe, it } from 'node:test';

import { BullQueues, type Processors, type ScoringTask } from '@clip-agiqa/webhook/internal';

import { ROOT } from './support/helpers.js';
import { RedisServer, redisUnavailable } from './support/redis-server.js';

const skip = redisUnavailable() ?? false;

const waitFor = async (cond: () => boolean | Promise<boolean>, ms: number): Promise<boolean> => {
  const deadline = Date.now() + ms;
  while (!(await cond()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
  return cond();
};

const noEvents = { stalled: () => undefined, error: () => undefined };
const fast = { lockDurationMs: 1000, stalledIntervalMs: 500 };

describe('BullMQ queues', { skip }, () => {
  it('recovers a job whose worker was SIGKILLed mid-job (stalled), and counts the recovery', async () => {
    await using redis = await RedisServer.start();
    const q = new BullQueues({ url: redis.url, ...fast });
    await q.enqueueScore('job-1');
    // A worker in another process takes the job and hangs on it; then it dies without a word.
    const script = `
      import { BullQueues } from '@clip-agiqa/webhook/internal';
      const q = new BullQueues({ url: ${JSON.stringify(redis.url)}, lockDurationMs: 1000, stalledIntervalMs: 500 });
      q.startWorkers({ score: async () => { process.stdout.write('taken\\n'); await new Promise(() => {}); }, deliver: async () => {} }, { concurrency: 1 }, { stalled() {}, error() {} });`;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      await new Promise<void>((resolve, reject) => {
        child.stdout!.on('data', (d: Buffer) => { if (d.toString().includes('taken')) resolve(); });
        child.once('exit', (code) => reject(new Error(`the worker exited (${code})`)));
      });
      child.kill('SIGKILL');
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
    const done: string[] = [];
    const stalled: string[] = [];
    q.startWorkers({ score: async (t: ScoringTask) => { done.push(t.id); return null; }, deliver: async () => undefined },
      { concurrency: 1 }, { stalled: (_q, id) => stalled.push(id), error: () => undefined });
    assert.ok(await waitFor(() => done.includes('job-1'), 10_000), 'another worker scores the job');
    assert.deepEqual(stalled, ['score_job-1']);
    await q.close();
  });

  it('hands a job being worked on back to the queue when its worker shuts down, and another worker finishes it', async () => {
    await using redis = await RedisServer.start();
    const a = new BullQueues({ url: redis.url, ...fast });
    let started = false;
    a.startWorkers({
      score: (_t, signal) => new Promise((_resolve, reject) => { started = true; signal.addEventListener('abort', () => reject(new Error('aborted'))); }),
      deliver: async () => undefined,
    }, { concurrency: 1 }, noEvents);
    await a.enqueueScore('slow');
    assert.ok(await waitFor(() => started, 5000));
    const t0 = Date.now();
    await a.stopWorkers(100);
    assert.ok(Date.now() - t0 < 900, 'the shutdown does not wait for the lock to lapse');
    assert.deepEqual(await a.score.getJobCounts('wait', 'prioritized', 'active'), { wait: 0, prioritized: 1, active: 0 });
    const b = new BullQueues({ url: redis.url, ...fast });
    const done: string[] = [];
    b.startWorkers({ score: async (t) => { done.push(t.id); return null; }, deliver: async () => undefined }, { concurrency: 1 }, noEvents);
    assert.ok(await waitFor(() => done.includes('slow'), 2000), 'taken at once by the other worker');
    await a.close();
    await b.close();
  });

  it('retries a failed delivery with backoff, says which attempt is the last, and adds a job id once', async () => {
    await using redis = await RedisServer.start();
    const q = new BullQueues({ url: redis.url, delivery: { maxAttempts: 3, initialBackoffMs: 100, maxBackoffMs: 150 } });
    const attempts: { attempt: number; last: boolean; at: number }[] = [];
    const processors: Processors = {
      score: async () => null,
      deliver: async (_id, attempt, last) => { attempts.push({ attempt, last, at: Date.now() }); throw new Error('HTTP 503'); },
    };
    await q.enqueueDelivery('job-1');
    await q.enqueueDelivery('job-1');
    q.startWorkers(processors, { concurrency: 1 }, noEvents);
    assert.ok(await waitFor(async () => (await q.deliver.getJobCounts('failed')).failed === 1, 5000));
    assert.deepEqual(attempts.map((a) => [a.attempt, a.last]), [[1, false], [2, false], [3, true]]);
    assert.ok(attempts[1]!.at - attempts[0]!.at >= 50, 'the second attempt waits for the backoff');
    await q.close();
  });

  it('answers a sync task through the queue with the worker\'s verdict, and counts the depth across the cluster', async () => {
    await using redis = await RedisServer.start();
    const api = new BullQueues({ url: redis.url });
    const worker = new BullQueues({ url: redis.url });
    for (const id of ['a', 'b', 'c']) await api.enqueueScore(id);
    assert.equal(await worker.depth(), 3, 'every replica sees the same queue');
    const verdict = { type: 'clip-agiqa.verdict.ranked', job_id: 'sync-1' } as never;
    worker.startWorkers({ score: async (t) => (t.kind === 'sync' ? verdict : null), deliver: async () => undefined }, { concurrency: 1 }, noEvents);
    assert.deepEqual(await api.runSync({ kind: 'sync', id: 'sync-1', route: 'r', job: { job_id: 'sync-1', candidates: [] } as never, blobs: [] }, 5000), verdict);
    await api.close();
    await worker.close();
  });
});
