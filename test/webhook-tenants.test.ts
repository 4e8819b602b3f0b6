import assert from 'node:assert/strict';
import { statSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { createScorer, type Scorer } from '@clip-agiqa/core';
import { DiskStore, startService, VerificationError, verifyStandardWebhook, type LogLine, type Service } from '@clip-agiqa/webhook';

import { DEMO_MODEL_DIR, tempDir } from './support/helpers.js';
import { image, loopback, postBearer, readAll, until } from './support/webhook-helpers.js';

const TOKEN_A = 'token-of-tenant-a-0123456789abcdef';
const TOKEN_B = 'token-of-tenant-b-0123456789abcdef';
const SECRET_A = `whsec_${Buffer.from('callback secret of tenant A!!!!!').toString('base64')}`;
const SECRET_B = `whsec_${Buffer.from('callback secret of tenant B!!!!!').toString('base64')}`;
const CALLBACK_TOKEN = 'cb-token-do-not-leak-42';

describe('webhook tenant isolation', { timeout: 120_000 }, () => {
  using t = tempDir();
  let scorer: Scorer;
  let store: DiskStore;
  let service: Service;
  const logs: LogLine[] = [];
  const events: { path: string; headers: Record<string, string | string[] | undefined>; body: string }[] = [];
  let receiver: Awaited<ReturnType<typeof loopback>>;

  before(async () => {
    scorer = await createScorer({ model: DEMO_MODEL_DIR });
    receiver = await loopback((req, res) => void readAll(req).then((body) => { events.push({ path: req.url!, headers: req.headers, body }); res.end(); }));
    store = await DiskStore.open(join(t.dir, 'data'));
    service = await startService({ scorer, store, log: (l) => void logs.push(l), config: {
      port: 0, data_dir: join(t.dir, 'data'),
      routes: [
        { path: 'a', verifier: 'bearer', tokens: [TOKEN_A], callback_secret: SECRET_A, body_bytes: 1 << 20 },
        { path: 'b', verifier: 'bearer', tokens: [TOKEN_B], callback_secret: SECRET_B, body_bytes: 1 << 20 },
      ],
      callback: { allow: ['127.0.0.0/8'], initial_backoff_ms: 20, max_backoff_ms: 40, max_attempts: 2, timeout_ms: 1000 },
    } });
  });
  after(async () => {
    await service.close();
    await store.close();
    await receiver[Symbol.asyncDispose]();
    await scorer.close();
  });

  const job = (id: string, callback = `${receiver.url}/cb?token=${CALLBACK_TOKEN}`) => ({
    job_id: id, callback_url: callback, candidates: [{ base64: image('square.png').toString('base64') }], policy: { mode: 'rank' },
  });
  const get = (path: string, token?: string) => fetch(`${service.url}${path}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });

  it('namespaces job ids per route: tenant B cannot take tenant A\'s id', async () => {
    const a = await postBearer(service.url, 'a', job('shared-id'), {}, TOKEN_A);
    const b = await postBearer(service.url, 'b', job('shared-id'), {}, TOKEN_B);
    assert.equal(a.status, 202, JSON.stringify(a.json));
    assert.equal(b.status, 202, JSON.stringify(b.json));
    assert.notEqual(a.json.status_url, b.json.status_url);
  });

  it('signs each route\'s events with its own callback secret', async () => {
    assert.ok(await until(() => events.filter((e) => e.body.includes('shared-id')).length >= 2));
    const verifies = (secret: string, e: (typeof events)[number]) => {
      try { verifyStandardWebhook([secret], e.headers, e.body); return true; } catch (err) { assert.ok(err instanceof VerificationError); return false; }
    };
    const byRoute = await Promise.all(events.filter((e) => e.body.includes('shared-id')).map(async (e) => [verifies(SECRET_A, e), verifies(SECRET_B, e)]));
    assert.deepEqual(byRoute.map(([a, b]) => a !== b), [true, true], 'each event verifies with exactly one tenant\'s secret');
    assert.deepEqual(byRoute.map(([a]) => a).sort(), [false, true]);
  });

  it('shows a job only to its route\'s credentials or its read token, and never its callback URL or resolved addresses', async () => {
    const accepted = await postBearer(service.url, 'a', job('private', 'http://127.0.0.2:9/cb?token=' + CALLBACK_TOKEN), {}, TOKEN_A);
    assert.equal(accepted.status, 202);
    const statusUrl = accepted.json.status_url as string;
    const readToken = accepted.json.read_token as string;
    assert.ok(readToken && readToken.length >= 32, 'a read token comes with the acceptance');
    assert.equal((await get(statusUrl)).status, 401, 'no credentials');
    assert.equal((await get(statusUrl, TOKEN_B)).status, 401, 'another tenant\'s token');
    assert.equal((await get(statusUrl, 'x'.repeat(43))).status, 401, 'a made-up read token');
    assert.ok(await until(async () => ((await (await get(statusUrl, TOKEN_A)).json()) as { state: string }).state === 'dead'));
    for (const token of [TOKEN_A, readToken]) {
      const r = await get(statusUrl, token);
      assert.equal(r.status, 200);
      const text = await r.text();
      assert.doesNotMatch(text, new RegExp(CALLBACK_TOKEN), 'no callback token');
      assert.doesNotMatch(text, /127\.0\.0\.2|callback_url|cb\?/, `no callback address: ${text}`);
    }
  });

  it('masks callback tokens in logs and keeps data files private (0600)', () => {
    assert.ok(logs.some((l) => /delivery/.test(l.msg)), 'deliveries were logged');
    const text = JSON.stringify(logs);
    assert.doesNotMatch(text, new RegExp(CALLBACK_TOKEN));
    const files = [...readdirSync(join(t.dir, 'data')).filter((f) => f.startsWith('store.lmdb')).map((f) => join(t.dir, 'data', f)),
      ...readdirSync(join(t.dir, 'data', 'blobs')).map((f) => join(t.dir, 'data', 'blobs', f))];
    assert.ok(files.length >= 2);
    for (const f of files) assert.equal(statSync(f).mode & 0o077, 0, `${f} is readable by others: ${(statSync(f).mode & 0o777).toString(8)}`);
  });
});
