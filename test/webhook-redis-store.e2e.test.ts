import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { RedisStore } from '@clip-agiqa/webhook';

import { tempDir } from './support/helpers.js';
import { jobRecord as record, jobStoreSuite } from './support/webhook-store-suite.js';
import { RedisServer, redisUnavailable } from './support/redis-server.js';

const skip = redisUnavailable() ?? false;

describe('Redis', { skip }, () => {
  let redis: RedisServer;
  let n = 0;
  before(async () => { redis = await RedisServer.start(); });
  after(async () => { await redis?.[Symbol.asyncDispose](); });
  // Each test gets its own key prefix in the one server: nothing leaks between tests.
  jobStoreSuite('Redis', async () => {
    const prefix = `suite${n++}`;
    const opened: RedisStore[] = [];
    // A failed assertion skips the test's close(): disposing closes every connection, so the file still ends.
    return {
      open: async () => { const s = await RedisStore.open({ url: redis.url, prefix }); opened.push(s); return s; },
      durable: true, [Symbol.asyncDispose]: async () => { await Promise.all(opened.map((s) => s.close())); },
    };
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

  it('expires finished jobs after the retention; one of two replicas claiming a message id wins, and a dead replica\'s claim lapses', async () => {
    await using redis = await RedisServer.start();
    // Closed even when an assertion fails, so open connections never keep the file running.
    const opened: RedisStore[] = [];
    await using _stores = { [Symbol.asyncDispose]: async () => { await Promise.all(opened.map((store) => store.close())); } };
    const s = await RedisStore.open({ url: redis.url, retentionMs: 150, claimTtlMs: 150 });
    opened.push(s);
    await s.accept(record('done'));
    await s.update(record('done', 'delivered'));
    await s.accept(record('open'));
    // Both replicas with the short claim lifetime: whichever wins the race below, its claim lapses.
    const other = await RedisStore.open({ url: redis.url, claimTtlMs: 150 });
    opened.push(other);
    const claims = await Promise.all([s.claimMessage('r:id:msg_1'), other.claimMessage('r:id:msg_1')]);
    assert.deepEqual(claims.map((c) => c.state).sort(), ['busy', 'claimed'], 'exactly one replica claims the message');
    assert.equal((await s.get('done'))?.state, 'delivered');
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(await s.get('done'), undefined);
    assert.equal((await s.get('open'))?.state, 'queued', 'an unfinished job never expires');
    assert.deepEqual(await other.claimMessage('r:id:msg_1'), { state: 'claimed' }, 'the claim of a replica that never settled it lapsed');
    const answer = { status: 202, body: { job_id: 'j' }, expiresAt: Date.now() + 200 };
    await other.settleMessage('r:id:msg_1', answer);
    assert.deepEqual(await s.claimMessage('r:id:msg_1'), { state: 'answered', answer }, 'every replica sees the stored answer');
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(await s.claimMessage('r:id:msg_1'), { state: 'claimed' }, 'the answer expires with its retention');
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
