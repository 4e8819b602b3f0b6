import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';

import { ConfigError, resolveConfig, type WebhookConfig } from '@clip-agiqa/webhook';

import { CLI, ROOT, tempDir } from './support/helpers.js';
import { RedisServer, redisUnavailable } from './support/redis-server.js';
import { metric, receiver, startReplica, stopReplica, tally, type Replica } from './support/webhook-cluster.js';
import { CALLBACK_SECRET, image, loopback, postSigned, until } from './support/webhook-helpers.js';

const skip = redisUnavailable() ?? false;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A configuration every replica of one cluster shares. */
const clusterConfig = (redisUrl: string, limits: Record<string, number> = {}) => ({
  store: { kind: 'redis', url: redisUrl, lock_ms: 2000, sync_timeout_ms: 20_000 },
  callback: { secret: CALLBACK_SECRET, initial_backoff_ms: 100, max_backoff_ms: 500, max_attempts: 100, allow: ['127.0.0.0/8'] },
  fetch: { allow: ['127.0.0.0/8'] }, limits: { concurrency: 2, shutdown_grace_ms: 300, ...limits },
});

const job = (id: string, imagesUrl: string, callbackUrl: string) => ({
  job_id: id, callback_url: `${callbackUrl}/in`, policy: { mode: 'best-of-n' }, candidates: [{ url: `${imagesUrl}/a.png` }, { url: `${imagesUrl}/b.png` }],
});

/** Posts until the job is accepted: a 503 (Redis away, or a replica shutting down) or a refused connection is retried. */
async function postUntilAccepted(apis: Replica[], i: number, payload: unknown, deadline = Date.now() + 30_000): Promise<void> {
  for (let attempt = 0; Date.now() < deadline; attempt++) {
    try {
      const r = await postSigned(apis[(i + attempt) % apis.length]!.url, 'jobs', payload, `msg_${i}`);
      if (r.status === 202) return;
      assert.equal(r.status, 503, `job ${i}: ${r.status} ${JSON.stringify(r.json)}`);
      assert.ok(r.headers.get('retry-after'), 'a 503 says when to retry');
    } catch (e) {
      if (e instanceof assert.AssertionError) throw e;
    }
    await sleep(100);
  }
  throw new Error(`job ${i} was never accepted`);
}

describe('store configuration', () => {
  const base = { data_dir: '/tmp/x', routes: [{ path: 'jobs', verifier: 'bearer', tokens: ['t-0123456789abcdef'] }] } as WebhookConfig;

  it('defaults to the journal, fills the redis defaults, refuses a redis store without a redis:// url', () => {
    assert.deepEqual(resolveConfig(base).store, { kind: 'journal', retention_s: 86_400 });
    const example = resolveConfig(JSON.parse(readFileSync(join(ROOT, 'examples/webhooks/cluster/cluster.json'), 'utf8')) as WebhookConfig);
    assert.deepEqual(example.store, { kind: 'redis', url: 'redis://redis:6379/0', prefix: 'clip-agiqa', retention_s: 86_400, lock_ms: 30_000, sync_timeout_ms: 60_000, connect_wait_s: 60 });
    assert.throws(() => resolveConfig({ ...base, store: { kind: 'redis' } } as unknown as WebhookConfig), ConfigError);
    assert.throws(() => resolveConfig({ ...base, store: { kind: 'redis', url: 'http://redis:6379' } } as WebhookConfig), ConfigError);
  });

  it('clip-agiqa serve --role api|worker needs the redis store, and names the roles', () => {
    using t = tempDir();
    const file = join(t.dir, 'serve.json');
    writeFileSync(file, JSON.stringify({ ...base, data_dir: join(t.dir, 'data') }));
    const worker = spawnSync(process.execPath, [CLI, 'serve', '--config', file, '--role', 'worker'], { encoding: 'utf8', timeout: 30_000 });
    assert.notEqual(worker.status, 0);
    assert.match(worker.stderr, /--role worker needs "store": \{"kind": "redis"/);
    const bad = spawnSync(process.execPath, [CLI, 'serve', '--config', file, '--role', 'scheduler'], { encoding: 'utf8', timeout: 30_000 });
    assert.notEqual(bad.status, 0);
    assert.match(bad.stderr, /--role must be one of all, api, worker/);
  });
});

describe('webhook service on Redis: API replicas and workers', { skip }, () => {
  const replicas: Replica[] = [];
  const start = async (...args: Parameters<typeof startReplica>) => {
    const r = await startReplica(...args);
    replicas.push(r);
    return r;
  };
  const logs = () => replicas.map((r) => `--- ${r.role} ${r.url}\n${r.log.join('').split('\n').filter((l) => !l.includes('"info"')).slice(-10).join('\n')}`).join('\n');
  after(async () => { await Promise.all(replicas.map((r) => stopReplica(r, 'SIGKILL'))); });

  it('2 API replicas + 2 workers, 40 async jobs: a worker SIGKILLed mid-run and Redis killed and restarted (AOF) lose nothing; one webhook-id per job', async () => {
    await using redis = await RedisServer.start({ aof: true });
    using t = tempDir();
    const picture = image('square.png');
    await using images = await loopback((_req, res) => { setTimeout(() => res.end(picture), 300); });
    await using rx = await receiver();
    const config = clusterConfig(redis.url);
    const [apiA, apiB, w1, w2] = await Promise.all([
      start(t.dir, 'api-a', 'api', config), start(t.dir, 'api-b', 'api', config), start(t.dir, 'w1', 'worker', config), start(t.dir, 'w2', 'worker', config),
    ]);
    const apis = [apiA!, apiB!];
    for (let i = 0; i < 20; i++) await postUntilAccepted(apis, i, job(`crash-${i}`, images.url, rx.url));
    assert.ok(await until(() => rx.deliveries.length >= 3, 20_000), `some verdicts delivered before the kill\n${logs()}`);
    await stopReplica(w1!, 'SIGKILL'); // both of its scoring slots are busy: 20 jobs were queued
    for (let i = 20; i < 30; i++) await postUntilAccepted(apis, i, job(`crash-${i}`, images.url, rx.url));
    await redis.kill();
    const whileDown = postUntilAccepted(apis, 30, job('crash-30', images.url, rx.url));
    await sleep(500);
    await redis.restart();
    await whileDown;
    for (let i = 31; i < 40; i++) await postUntilAccepted(apis, i, job(`crash-${i}`, images.url, rx.url));

    const ids = Array.from({ length: 40 }, (_, i) => `crash-${i}`);
    assert.ok(await until(() => ids.every((id) => tally(rx.deliveries).delivered.has(id)), 90_000),
      `delivered ${tally(rx.deliveries).delivered.size} of 40\n${logs()}`);
    assert.deepEqual(tally(rx.deliveries).manyIds, [], 'each job is delivered under one webhook-id');
    assert.ok(await metric(w2!.url, 'clip_agiqa_stalled_recoveries_total') >= 1, 'the killed worker\'s jobs were recovered as stalled');
    assert.ok(await metric(w2!.url, 'clip_agiqa_delivery_attempts_total') >= 1);
    for (const r of [apiA!, apiB!, w2!]) assert.equal(await stopReplica(r), 0, `${r.role} shuts down cleanly on SIGTERM`);
  });

  it('accepts one webhook-id posted to two replicas at once once, limits the queue across the cluster, answers sync requests through workers, and a stopping worker hands its jobs back', async () => {
    await using redis = await RedisServer.start();
    using t = tempDir();
    const picture = image('square.png');
    let delayMs = 0;
    await using images = await loopback((_req, res) => { setTimeout(() => res.end(picture), delayMs); });
    await using rx = await receiver();
    const config = clusterConfig(redis.url, { queue: 4 });
    const [apiA, apiB] = await Promise.all([start(t.dir, 'api-a', 'api', config), start(t.dir, 'api-b', 'api', config)]);
    assert.deepEqual({ ...(await (await fetch(`${apiA!.url}/readyz`)).json()) as object, model: null }, { ready: true, role: 'api', model: null, redis: true });

    // The same message to both replicas at once: one accepts it; the other is told it is in progress, or replays the answer.
    const same = job('twice', images.url, rx.url);
    const answers = await Promise.all([postSigned(apiA!.url, 'jobs', same, 'msg_same'), postSigned(apiB!.url, 'jobs', same, 'msg_same')]);
    const fresh = answers.filter((a) => a.status === 202 && !a.headers.get('idempotent-replayed'));
    assert.equal(fresh.length, 1, `answers: ${answers.map((a) => `${a.status} ${JSON.stringify(a.json)}`).join(' | ')}`);
    assert.ok(answers.every((a) => a.status === 202 || (a.status === 409 && a.json.error && (a.json.error as { code: string }).code === 'IN_PROGRESS')));

    // No worker yet: the queue fills across both replicas, then 503 + Retry-After.
    for (let i = 0; i < 3; i++) assert.equal((await postSigned([apiA, apiB][i % 2]!.url, 'jobs', job(`fill-${i}`, images.url, rx.url), `msg_fill_${i}`)).status, 202);
    const full = await postSigned(apiB!.url, 'jobs', job('one-too-many', images.url, rx.url), 'msg_full');
    assert.equal(full.status, 503);
    assert.equal((full.json.error as { code: string }).code, 'QUEUE_FULL');
    assert.ok(full.headers.get('retry-after'));

    // A worker takes jobs whose images are slow, and is stopped: it hands them back instead of sitting on them until its lock lapses.
    delayMs = 1500;
    const w1 = await start(t.dir, 'w1', 'worker', config);
    assert.ok(await until(async () => (await metric(w1.url, 'clip_agiqa_active_jobs')) >= 1, 10_000), 'the worker is scoring');
    const stopping = Date.now();
    assert.equal(await stopReplica(w1), 0);
    const stopMs = Date.now() - stopping;
    delayMs = 0;
    const w2 = await start(t.dir, 'w2', 'worker', config);
    const all = ['twice', 'fill-0', 'fill-1', 'fill-2'];
    assert.ok(await until(() => all.every((id) => tally(rx.deliveries).delivered.has(id)), 20_000), `delivered: ${[...tally(rx.deliveries).delivered].join(', ')}\n${logs()}`);
    assert.equal(await metric(w2.url, 'clip_agiqa_stalled_recoveries_total'), 0, `handed back, not recovered as stalled (the worker stopped in ${stopMs} ms)`);
    assert.deepEqual(tally(rx.deliveries).manyIds, []);
    assert.equal(rx.deliveries.filter((d) => d.jobId === 'twice').length, 1, 'the message posted twice made one job');

    // A sync request on an API replica is scored by a worker and answered with its verdict.
    const sync = await postSigned(apiA!.url, 'jobs', { job_id: 'sync-1', policy: { mode: 'best-of-n' }, candidates: [{ url: `${images.url}/a.png` }, { base64: image('portrait.jpg').toString('base64') }] }, 'msg_sync');
    assert.equal(sync.status, 200, JSON.stringify(sync.json));
    assert.equal(sync.json.job_id, 'sync-1');
    assert.equal((sync.json.candidates as unknown[]).length, 2);

    // Readiness follows Redis.
    await redis.stop();
    const down = await fetch(`${apiA!.url}/readyz`);
    assert.equal(down.status, 503);
    assert.equal(((await down.json()) as { redis: boolean }).redis, false);
    await redis.restart();
    assert.ok(await until(async () => (await fetch(`${apiA!.url}/readyz`)).status === 200, 10_000), 'ready again once Redis is back');
    for (const r of [apiA!, apiB!, w2]) assert.equal(await stopReplica(r), 0);
  });
});
