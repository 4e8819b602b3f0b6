import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { createScorer, type Scorer } from '@clip-agiqa/core';
import { DiskStore, startService, type Service, type WebhookConfig } from '@clip-agiqa/webhook';

import { DEMO_MODEL_DIR, tempDir } from './support/helpers.js';
import { CALLBACK_SECRET, image, loopback, postBearer, postSigned, readAll, SECRET, TOKEN, until } from './support/webhook-helpers.js';

// Senders retry until they get a 2xx (Stripe, Svix): a message id is spent only by an accepted request.
describe('webhook idempotency', () => {
  using t = tempDir();
  let scorer: Scorer;
  const delivered: string[] = [];
  let imageFailures = 0;
  let hold: Promise<void> | null = null;
  let images: Awaited<ReturnType<typeof loopback>>;
  let receiver: Awaited<ReturnType<typeof loopback>>;

  before(async () => {
    scorer = await createScorer({ model: DEMO_MODEL_DIR });
    images = await loopback((req, res) => {
      void (async () => {
        if (hold) await hold;
        if (imageFailures > 0) { imageFailures--; res.writeHead(500).end(); return; }
        res.end(image('square.png'));
      })();
    });
    receiver = await loopback((req, res) => void readAll(req).then((b) => { delivered.push(b); res.end(); }));
  });
  after(async () => {
    await images[Symbol.asyncDispose]();
    await receiver[Symbol.asyncDispose]();
    await scorer.close();
  });

  const configFor = (dir: string, extra: Partial<WebhookConfig> = {}): WebhookConfig => ({
    port: 0, data_dir: dir,
    routes: [{ path: 'jobs', verifier: 'standard-webhooks', secrets: [SECRET] }, { path: 'token', verifier: 'bearer', tokens: [TOKEN] }],
    callback: { secret: CALLBACK_SECRET, allow: ['127.0.0.0/8'], initial_backoff_ms: 20, max_backoff_ms: 50 }, fetch: { allow: ['127.0.0.0/8'] }, ...extra,
  });
  async function open(dir: string, extra: Partial<WebhookConfig> = {}): Promise<{ service: Service; store: DiskStore; [Symbol.asyncDispose](): Promise<void> }> {
    const store = await DiskStore.open(dir);
    const service = await startService({ config: configFor(dir, extra), scorer, store, log: () => undefined });
    return { service, store, async [Symbol.asyncDispose]() { await service.close(); await store.close(); } };
  }
  const verdictCount = async (url: string) => [...(await (await fetch(`${url}/metrics`)).text()).matchAll(/^clip_agiqa_verdicts_total\{[^}]*\} (\d+)/gm)]
    .reduce((sum, m) => sum + Number(m[1]), 0);
  const asyncJob = (id: string) => ({ job_id: id, callback_url: `${receiver.url}/cb`, candidates: [{ url: `${images.url}/a.png` }], policy: { mode: 'rank' } });
  const syncJob = (id: string) => ({ job_id: id, candidates: [{ url: `${images.url}/a.png` }], policy: { mode: 'rank' } });

  it('processes a retry after 503 QUEUE_FULL: the refused request did not spend its message id', async () => {
    await using s = await open(join(t.dir, 'full'), { limits: { queue: 1 } });
    let release!: () => void;
    hold = new Promise((r) => { release = r; });
    try {
      assert.equal((await postSigned(s.service.url, 'jobs', asyncJob('first'), 'msg_first')).status, 202);
      const refused = await postSigned(s.service.url, 'jobs', asyncJob('second'), 'msg_second');
      assert.equal(refused.status, 503, JSON.stringify(refused.json));
    } finally {
      release();
      hold = null;
    }
    assert.ok(await until(() => delivered.some((b) => b.includes('"first"'))));
    const retried = await postSigned(s.service.url, 'jobs', asyncJob('second'), 'msg_second');
    assert.equal(retried.status, 202, JSON.stringify(retried.json));
  });

  it('processes a retry after a 422 caused by a failing image host', async () => {
    await using s = await open(join(t.dir, 'flaky'));
    imageFailures = 1;
    const failed = await postSigned(s.service.url, 'jobs', syncJob('flaky'), 'msg_flaky');
    assert.equal(failed.status, 422, JSON.stringify(failed.json));
    const retried = await postSigned(s.service.url, 'jobs', syncJob('flaky'), 'msg_flaky');
    assert.equal(retried.status, 200, JSON.stringify(retried.json));
  });

  it('answers a retry of an accepted message with the original answer, without doing the work again, across a restart', async () => {
    const dir = join(t.dir, 'restart');
    let firstSync: Record<string, unknown>;
    let firstAsync: Record<string, unknown>;
    {
      await using s = await open(dir);
      const sync = await postSigned(s.service.url, 'jobs', syncJob('sync-1'), 'msg_sync');
      assert.equal(sync.status, 200);
      firstSync = sync.json;
      const again = await postSigned(s.service.url, 'jobs', syncJob('sync-1'), 'msg_sync');
      assert.equal(again.status, 200, JSON.stringify(again.json));
      assert.deepEqual(again.json, firstSync);
      const accepted = await postSigned(s.service.url, 'jobs', asyncJob('async-1'), 'msg_async');
      assert.equal(accepted.status, 202);
      firstAsync = accepted.json;
      const retried = await postSigned(s.service.url, 'jobs', asyncJob('async-1'), 'msg_async');
      assert.equal(retried.status, 202, JSON.stringify(retried.json));
      assert.deepEqual(retried.json, firstAsync);
      assert.ok(await until(() => delivered.some((b) => b.includes('"async-1"'))));
      assert.equal(await verdictCount(s.service.url), 2, 'the retries were answered without scoring');
    }
    await using s = await open(dir);
    const sync = await postSigned(s.service.url, 'jobs', syncJob('sync-1'), 'msg_sync');
    assert.equal(sync.status, 200, JSON.stringify(sync.json));
    assert.deepEqual(sync.json, firstSync, 'the sync verdict is remembered across a restart');
    const retried = await postSigned(s.service.url, 'jobs', asyncJob('async-1'), 'msg_async');
    assert.equal(retried.status, 202, JSON.stringify(retried.json));
    assert.deepEqual(retried.json, firstAsync);
    assert.equal(await verdictCount(s.service.url), 0, 'nothing was scored after the restart');
  });

  it('answers a retry that arrives while the first delivery is still being processed with 409 IN_PROGRESS', async () => {
    await using s = await open(join(t.dir, 'concurrent'));
    let release!: () => void;
    hold = new Promise((r) => { release = r; });
    try {
      const first = postSigned(s.service.url, 'jobs', syncJob('twice'), 'msg_twice');
      await new Promise((r) => setTimeout(r, 200));
      const second = await postSigned(s.service.url, 'jobs', syncJob('twice'), 'msg_twice');
      assert.equal(second.status, 409, JSON.stringify(second.json));
      assert.equal((second.json.error as { code: string }).code, 'IN_PROGRESS');
      assert.equal(second.headers.get('retry-after'), '1');
      release();
      assert.equal((await first).status, 200);
    } finally {
      release();
      hold = null;
    }
    assert.equal((await postSigned(s.service.url, 'jobs', syncJob('twice'), 'msg_twice')).status, 200);
  });

  it('answers a bearer retry of an accepted job (same body) with the original 202; another body under that job id is a conflict', async () => {
    await using s = await open(join(t.dir, 'bearer'));
    const first = await postBearer(s.service.url, 'token', asyncJob('bearer-1'));
    assert.equal(first.status, 202);
    const retried = await postBearer(s.service.url, 'token', asyncJob('bearer-1'));
    assert.equal(retried.status, 202, JSON.stringify(retried.json));
    assert.deepEqual(retried.json, first.json);
    const other = await postBearer(s.service.url, 'token', { ...asyncJob('bearer-1'), policy: { mode: 'best-of-n' } });
    assert.equal(other.status, 409);
    assert.equal((other.json.error as { code: string }).code, 'DUPLICATE_JOB');
    const keyed = { 'idempotency-key': 'sync-key-1' };
    const sync = await postBearer(s.service.url, 'token', syncJob('bearer-sync'), keyed);
    assert.equal(sync.status, 200);
    assert.deepEqual((await postBearer(s.service.url, 'token', syncJob('bearer-sync'), keyed)).json, sync.json);
  });
});
