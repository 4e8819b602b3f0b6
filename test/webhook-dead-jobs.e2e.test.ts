// One job engine contract on both stores: a job that fails every attempt ends dead with its cause (job
// status, /metrics), stays dead, and the operator's `clip-agiqa serve requeue-dead` gives it a new life.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { DiskStore, RedisStore, type JobRecord, type JobStore } from '@clip-agiqa/webhook';
import { BullQueues } from '@clip-agiqa/webhook/internal';

import { CLI, tempDir } from './support/helpers.js';
import { RedisServer, redisUnavailable } from './support/redis-server.js';
import { metric, receiver, startReplica, stopReplica } from './support/webhook-cluster.js';
import { CALLBACK_SECRET, image, TOKEN, until } from './support/webhook-helpers.js';

const skip = redisUnavailable() ?? false;
const ATTEMPTS = 3;
const ID = 'jobs/poison';

/** A queued job whose policy names a head the model lacks (accepted under another model): every attempt to score it fails. */
async function plantPoison(store: JobStore, callbackUrl: string): Promise<void> {
  const bytes = image('square.png');
  const blob = await store.putBlob(ID, 0, bytes);
  const now = Date.now();
  const rec: JobRecord = {
    id: ID, route: 'jobs', state: 'queued', job: { job_id: 'poison', callback_url: callbackUrl, candidates: [{ id: 'a' }], policy: { mode: 'rank', head: 'no-such-head' } } as unknown as JobRecord['job'],
    blobs: [blob], sizes: [{ bytes: bytes.length, pixels: 64 * 64 }], fetchErrors: [null],
    delivery: { url: callbackUrl, webhookId: 'msg_poison', attempts: 0, nextAt: 0 }, acceptedAt: now, updatedAt: now,
  };
  assert.equal(await store.accept(rec), true);
}

/** What an operator does before re-queueing it: the job's policy is fixed (while it is dead). */
async function cure(store: JobStore): Promise<void> {
  const rec = (await store.get(ID))!;
  assert.equal(rec.state, 'dead');
  await store.update({ ...rec, job: { ...rec.job, policy: { mode: 'rank' } } });
  await store.close();
}

const status = async (url: string) => (await (await fetch(`${url}/jobs/jobs/poison`, { headers: { authorization: `Bearer ${TOKEN}` } })).json()) as { state: string; dead_cause: { stage: string; attempts: number; error: string } | null };

function requeueDead(config: string): string {
  const r = spawnSync(process.execPath, [CLI, 'serve', 'requeue-dead', '--config', config, '--route', 'jobs'], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.trim();
}

describe('dead jobs', () => {
  let redis: RedisServer | null = null;
  before(async () => { if (!skip) redis = await RedisServer.start(); });
  after(async () => { await redis?.stop(); });

  for (const kind of ['disk', 'redis'] as const) {
    it(`a poison job ends dead after scoring.max_attempts on the ${kind} store, and requeue-dead brings it back`, { skip: kind === 'redis' && skip, timeout: 120_000 }, async () => {
      using t = tempDir();
      await using rx = await receiver();
      const data = join(t.dir, 'poison');
      const storeConfig = kind === 'redis' ? { store: { kind: 'redis', url: redis!.url, lock_ms: 2000 } } : {};
      let open: () => Promise<JobStore>;
      if (kind === 'disk') {
        open = () => DiskStore.open(data);
        const store = await open();
        await plantPoison(store, `${rx.url}/in`);
        await store.close();
      } else {
        open = () => RedisStore.open({ url: redis!.url });
        const store = await open();
        await plantPoison(store, `${rx.url}/in`);
        await store.close();
        const queues = new BullQueues({ url: redis!.url, scoring: { maxAttempts: ATTEMPTS, initialBackoffMs: 50, maxBackoffMs: 100 } });
        await queues.enqueueScore(ID);
        await queues.close();
      }
      const config = {
        ...storeConfig, routes: [{ path: 'jobs', verifier: 'bearer', tokens: [TOKEN] }],
        scoring: { max_attempts: ATTEMPTS, initial_backoff_ms: 50, max_backoff_ms: 100 },
        callback: { secret: CALLBACK_SECRET, allow: ['127.0.0.0/8'], initial_backoff_ms: 50, max_backoff_ms: 100 },
      };
      const replica = await startReplica(t.dir, 'poison', 'all', config);
      try {
        assert.ok(await until(async () => (await status(replica.url)).state === 'dead', 30_000), `state ${JSON.stringify(await status(replica.url))}\n${replica.log.join('')}`);
        const dead = await status(replica.url);
        assert.equal(dead.dead_cause?.stage, 'score');
        assert.equal(dead.dead_cause?.attempts, ATTEMPTS);
        assert.match(dead.dead_cause!.error, /no-such-head/);
        assert.equal(await metric(replica.url, 'clip_agiqa_dead_jobs_total'), 1);
        await new Promise((r) => setTimeout(r, 1500));
        assert.equal((await status(replica.url)).state, 'dead', 'nothing runs a dead job again by itself');

        await cure(await open());
        assert.equal(requeueDead(join(t.dir, 'poison.json')), ID);
        assert.ok(await until(() => rx.deliveries.some((d) => d.jobId === 'poison'), 60_000), `not delivered after requeue-dead\n${replica.log.join('')}`);
        // The receiver has the callback before the service hears its answer and records the delivery.
        assert.ok(await until(async () => (await status(replica.url)).state === 'delivered', 10_000), `state ${JSON.stringify(await status(replica.url))}`);
      } finally {
        await stopReplica(replica);
      }
    });
  }
});
