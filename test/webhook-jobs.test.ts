import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { MemoryStore, type JobRecord, type LogLine, type WebhookVerdict } from '@clip-agiqa/webhook';
import { DeliveryScheduler, JobQueue, Metrics } from '@clip-agiqa/webhook/internal';

import { jobRecord } from './support/webhook-store-suite.js';

const verdictOf = (id: string): WebhookVerdict => ({
  type: 'quality.scored', job_id: id, policy: { mode: 'rank' }, model: { name: 'm', untrained: true }, candidates: [{ id: '0', passed: true, scores: { quality: 1 } }], passed: ['0'], order: ['0'],
});
const until = async (cond: () => boolean | Promise<boolean>, ms = 5000) => {
  const deadline = Date.now() + ms;
  while (!(await cond()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  return cond();
};
/** Downloads that always bring the 5 bytes 'image', a 10x10 picture. */
const fakeImages = (onDownload: (url: string) => void = () => undefined) => ({
  download: async (url: string) => { onDownload(url); return { bytes: Buffer.from('image'), pixels: 100, release: () => undefined }; },
  pixels: async () => 100,
});
const callback = { max_attempts: 3, initial_backoff_ms: 5, max_backoff_ms: 20, concurrency: 8 };

describe('job queue (with an in-memory store)', () => {
  it('fetches, scores and stores the verdict of an accepted job, then hands it to delivery', async () => {
    const store = new MemoryStore();
    const scored: string[] = [];
    const fetched: string[] = [];
    const queue = new JobQueue({
      store, concurrency: 1, metrics: new Metrics(), log: () => undefined,
      images: fakeImages((url) => fetched.push(url)),
      scorer: {
        score: async (job, images) => {
          const [only] = images;
          assert.ok(only && !('code' in only));
          assert.deepEqual([only.bytes, only.pixels, await only.load()], [5, 100, Buffer.from('image')]);
          return verdictOf(job.job_id);
        },
      },
      onScored: (r) => scored.push(r.id),
    });
    const rec = jobRecord('q1');
    await store.accept(rec);
    queue.enqueue(rec);
    assert.ok(await until(() => scored.includes('q1')));
    assert.deepEqual(fetched, ['https://example.com/a.png']);
    const stored = (await store.get('q1'))!;
    assert.equal(stored.state, 'scored');
    assert.equal(stored.verdict!.job_id, 'q1');
    await queue.close();
  });

  it('retries a job whose processing fails, and resumes queued jobs after a restart', async () => {
    const store = new MemoryStore();
    let failures = 2;
    const logs: LogLine[] = [];
    const options = {
      store, concurrency: 2, metrics: new Metrics(), log: (l: LogLine) => void logs.push(l), retry: { maxAttempts: 5, initialBackoffMs: 1, maxBackoffMs: 5 }, onScored: () => undefined,
      images: fakeImages(),
      scorer: { score: async (job: JobRecord['job']) => { if (failures-- > 0) throw new Error('disk full'); return verdictOf(job.job_id); } },
    };
    await store.accept(jobRecord('left-by-last-run'));
    const queue = new JobQueue(options);
    assert.equal(await queue.resume(), 1);
    assert.ok(await until(async () => (await store.get('left-by-last-run'))!.state === 'scored'));
    assert.equal(logs.filter((l) => l.msg === 'job failed; retrying').length, 2);
    await queue.close();
  });
});

describe('delivery scheduler (with an in-memory store)', () => {
  it('retries a failing receiver with the same webhook-id, then records the delivery', async () => {
    const store = new MemoryStore();
    const posts: { url: string; id: string; body: string }[] = [];
    const statuses = [503, 500, 200];
    const d = new DeliveryScheduler({ store, callback, metrics: new Metrics(), log: () => undefined,
      post: async (rec, body) => { posts.push({ url: rec.delivery.url, id: rec.delivery.webhookId, body }); return statuses.shift()!; } });
    await store.accept({ ...jobRecord('d1'), state: 'scored', verdict: verdictOf('d1') });
    d.schedule();
    assert.ok(await until(async () => (await store.get('d1'))!.state === 'delivered'));
    assert.equal(posts.length, 3);
    assert.deepEqual(new Set(posts.map((p) => p.id)), new Set(['msg_d1']));
    assert.equal((JSON.parse(posts[0]!.body) as { data: WebhookVerdict }).data.job_id, 'd1');
    assert.equal((await store.get('d1'))!.delivery.attempts, 3);
    await d.close();
  });

  it('posts to receivers at most callback.concurrency at a time, however many verdicts are due', async () => {
    const store = new MemoryStore();
    let open = 0;
    let most = 0;
    const d = new DeliveryScheduler({ store, callback: { ...callback, concurrency: 4 }, metrics: new Metrics(), log: () => undefined,
      post: async () => { open++; most = Math.max(most, open); await new Promise((r) => setTimeout(r, 20)); open--; return 200; } });
    for (let i = 0; i < 40; i++) await store.accept({ ...jobRecord(`many-${i}`), state: 'scored', verdict: verdictOf(`many-${i}`) });
    d.schedule();
    assert.ok(await until(async () => (await store.unfinished()).length === 0));
    assert.equal(most, 4);
    await d.close();
  });

  it('gives up after max_attempts: the job is dead with its last error', async () => {
    const store = new MemoryStore();
    const d = new DeliveryScheduler({ store, callback, metrics: new Metrics(), log: () => undefined, post: async () => { throw new Error('connection refused'); } });
    await store.accept({ ...jobRecord('d2'), state: 'scored', verdict: verdictOf('d2') });
    d.schedule();
    assert.ok(await until(async () => (await store.get('d2'))!.state === 'dead'));
    const rec = (await store.get('d2'))!;
    assert.equal(rec.delivery.attempts, 3);
    assert.equal(rec.delivery.lastError, 'NETWORK', 'a code: the message may name addresses');
    await d.close();
  });
});
