import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { RedisStore } from '@clip-agiqa/webhook';

import { tempDir } from './helpers.js';
import { jobRecord as record, jobStoreSuite } from './webhook-store-suite.js';
import { RedisServer, redisUnavailable } from './redis-server.js';

const skip = redisUnavailable() ?? false;

describe('Redis', { skip }, () => {
  let redis: RedisServer;
  let n = 0;
  before(async () => { redis = await RedisServer.start(); });
  after(async () => { await redis?.[Symbol.asyncDispose](); });
  // Each test gets its own key prefix in the one server: nothing leaks between tests.
  jobStoreSuite('Redis', async () => {
    const prefix = `suite${n++}`;
    return { open: () => RedisStore.open({ url: redis.url, prefix }), durable: true, [Symbol.asyncDispose]: async () => undefined };
  });
});

describe('Redis job store', { skip }, () => {
  it('keeps every acknowledged write when Redis is killed and restarted with the append-only file', async () => {
    await using redis = await RedisServer.start({ aof: true });
    const s = await RedisStore.open({ url: redis.url });
    for (let i = 0; i < 50; i++) assert.equal(await s.accept(record(`job-${i}`)), true);
    const blob = await s.putBlob('job-0', 0, Buffer.from('pixels'));
    await redis.kill();
    await assert.rejects(s.accept(record('while-down')), 'a write while Redis is down fails at once instead of hanging');
    await redis.restart();
    let ready = false;
    for (let i = 0; i < 100 && !ready; i++) { ready = await s.ready(); if (!ready) await new Promise((r) => setTimeout(r, 50)); }
    assert.ok(ready, 'the store reconnects by itself');
    assert.equal((await s.unfinished()).length, 50);
    assert.deepEqual(await s.readBlob(blob), Buffer.from('pixels'));
    await s.close();
  });

  it('answers not ready while Redis is down, and ready again once it is back', async () => {
    await using redis = await RedisServer.start();
    const s = await RedisStore.open({ url: redis.url });
    assert.equal(await s.ready(), true);
    await redis.stop();
    assert.equal(await s.ready(), false);
    await redis.restart();
    let ready = false;
    for (let i = 0; i < 100 && !ready; i++) { ready = await s.ready(); if (!ready) await new Promise((r) => setTimeout(r, 50)); }
    assert.equal(ready, true);
    await s.close();
  });

  it('expires finished jobs after the retention, and idempotency records after theirs; one of two racing claims wins', async () => {
    await using redis = await RedisServer.start();
    const s = await RedisStore.open({ url: redis.url, retentionMs: 150 });
    await s.accept(record('done'));
    await s.update(record('done', 'delivered'));
    await s.accept(record('open'));
    const claims = await Promise.all([s.remember('r:msg_1', 'replica-a', 150), s.remember('r:msg_1', 'replica-b', 150)]);
    assert.deepEqual(claims.filter((c) => c === null).length, 1, 'exactly one claim stores the record');
    assert.ok(claims.includes('replica-a') || claims.includes('replica-b'), 'the other sees who claimed it');
    assert.equal((await s.get('done'))?.state, 'delivered');
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(await s.get('done'), undefined);
    assert.equal((await s.get('open'))?.state, 'queued', 'an unfinished job never expires');
    assert.equal(await s.remember('r:msg_1', 'replica-c', 150), null);
    await s.close();
  });

  it('keeps blobs in Redis and uses the local folder only as a cache', async () => {
    await using redis = await RedisServer.start();
    using t = tempDir();
    const cacheDir = join(t.dir, 'cache');
    const a = await RedisStore.open({ url: redis.url, cacheDir });
    const name = await a.putBlob('job', 0, Buffer.from('image bytes'));
    assert.deepEqual(readdirSync(cacheDir), [], 'nothing needs the disk to accept a job');
    const b = await RedisStore.open({ url: redis.url, cacheDir: join(t.dir, 'other-machine') });
    assert.deepEqual(await b.readBlob(name), Buffer.from('image bytes'), 'another machine reads the blob from Redis');
    assert.deepEqual(readdirSync(join(t.dir, 'other-machine')), [name]);
    await b.dropBlobs({ blobs: [name] });
    assert.deepEqual(readdirSync(join(t.dir, 'other-machine')), []);
    await assert.rejects(a.readBlob(name), /no blob/);
    await a.close();
    await b.close();
  });
});
