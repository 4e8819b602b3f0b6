import assert from 'node:assert/strict';
import { request } from 'node:http';
import { gzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';

import { createScorer, type Scorer } from '@clip-agiqa/core';
import { MemoryStore, startService, type LogLine, type Service } from '@clip-agiqa/webhook';

import { DEMO_MODEL_DIR } from './support/helpers.js';
import { CALLBACK_SECRET, image, loopback, postBearer, postSigned, readAll, SECRET, TOKEN } from './support/webhook-helpers.js';

/** A raw GET with the request target exactly as given (fetch would normalise it). */
function rawGet(base: string, target: string): Promise<number> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    request({ host: hostname, port, path: target, method: 'GET' }, (res) => { res.resume(); resolve(res.statusCode!); }).on('error', reject).end();
  });
}

describe('webhook refusals of ambiguous or hostile input', { timeout: 120_000 }, () => {
  let scorer: Scorer;
  let service: Service;
  let receiver: Awaited<ReturnType<typeof loopback>>;
  const logs: LogLine[] = [];
  const png = image('square.png').toString('base64');
  const errorCode = (json: Record<string, unknown>) => (json.error as { code: string } | undefined)?.code;

  before(async () => {
    scorer = await createScorer({ model: DEMO_MODEL_DIR });
    receiver = await loopback((req, res) => void readAll(req).then(() => res.end()));
    const resolve = async (host: string) => (host === 'internal.example' ? [{ address: '10.1.2.3', family: 4 }] : [{ address: '127.0.0.1', family: 4 }]);
    service = await startService({ scorer, store: new MemoryStore(), log: (l) => void logs.push(l), resolve, config: {
      port: 0, data_dir: 'unused',
      routes: [{ path: 'token', verifier: 'bearer', tokens: [TOKEN], body_bytes: 8 << 20 }, { path: 'signed', verifier: 'standard-webhooks', secrets: [SECRET], body_bytes: 1 << 20 }],
      callback: { secret: CALLBACK_SECRET, allow: ['127.0.0.0/8'] }, fetch: { allow: ['127.0.0.0/8'], timeout_ms: 2000 },
    } });
  });
  after(async () => {
    await service.close();
    await receiver[Symbol.asyncDispose]();
    await scorer.close();
  });

  it('accepts the same body sent at once under two webhook ids as one job', async () => {
    const job = { job_id: 'twice', callback_url: `${receiver.url}/cb`, candidates: [{ base64: png }], policy: { mode: 'rank' } };
    const [a, b] = await Promise.all([postSigned(service.url, 'signed', job, 'msg_first_try'), postSigned(service.url, 'signed', job, 'msg_second_try')]);
    assert.deepEqual([a.status, b.status], [202, 202], JSON.stringify([a.json, b.json]));
    assert.equal(a.json.status_url, b.json.status_url);
  });

  it('refuses candidate ids that would repeat in the verdict', async () => {
    const same = await postBearer(service.url, 'token', { job_id: 'dup', candidates: [{ id: 'a', base64: png }, { id: 'a', base64: png }], policy: { mode: 'rank' } });
    assert.equal(same.status, 422);
    assert.equal(errorCode(same.json), 'DUPLICATE_CANDIDATE_ID');
    const crop = await postBearer(service.url, 'token', { job_id: 'crop', candidates: [{ id: 'g', base64: png, grid: '2x2' }, { id: 'g-2', base64: png }], policy: { mode: 'rank' } });
    assert.equal(crop.status, 422);
    assert.match(JSON.stringify(crop.json), /g-2/);
  });

  it('routes the path as sent: //x/metrics is not /metrics, and //// is a 404, not a 500', async () => {
    assert.equal(await rawGet(service.url, '//x/metrics'), 404);
    assert.equal(await rawGet(service.url, '////'), 404);
    assert.equal(await rawGet(service.url, '/metrics?x=1'), 200);
  });

  it('masks the query of a refused request in the log', async () => {
    const r = await fetch(`${service.url}/hooks/token?token=secret-in-query-42`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json', authorization: 'Bearer wrong-token-0123456789abcdef' } });
    assert.equal(r.status, 401);
    const refused = logs.filter((l) => l.msg === 'request refused');
    assert.ok(refused.length > 0);
    assert.doesNotMatch(JSON.stringify(refused), /secret-in-query-42/);
    assert.match(JSON.stringify(refused), /token=\*\*\*/);
  });

  it('refuses at acceptance a callback host that resolves to a blocked address', async () => {
    const r = await postBearer(service.url, 'token', { job_id: 'inside', callback_url: 'http://internal.example/cb', candidates: [{ base64: png }], policy: { mode: 'rank' } });
    assert.equal(r.status, 422, JSON.stringify(r.json));
    assert.equal(errorCode(r.json), 'INVALID_CALLBACK_URL');
    assert.doesNotMatch(JSON.stringify(r.json), /10\.1\.2\.3/, 'the sender is not told what our resolver answered');
  });

  it('takes JSON only: another content type or an encoded body is a 415', async () => {
    const body = JSON.stringify({ job_id: 'typed', candidates: [{ base64: png }], policy: { mode: 'rank' } });
    const post = (headers: Record<string, string>, payload: string | Buffer = body) => fetch(`${service.url}/hooks/token`, { method: 'POST', body: payload, headers: { authorization: `Bearer ${TOKEN}`, ...headers } });
    const text = await post({ 'content-type': 'text/plain' });
    assert.equal(text.status, 415);
    assert.match(await text.text(), /UNSUPPORTED_MEDIA_TYPE/);
    const gzip = await post({ 'content-type': 'application/json', 'content-encoding': 'gzip' }, gzipSync(body));
    assert.equal(gzip.status, 415);
    assert.match(await gzip.text(), /UNSUPPORTED_ENCODING/);
    assert.equal((await post({ 'content-type': 'application/json; charset=utf-8' })).status, 200);
  });

  it('answers 422 when every candidate failed to download', async () => {
    await using gone = await loopback((_req, res) => res.destroy());
    const r = await postBearer(service.url, 'token', { job_id: 'unreachable', candidates: [{ url: `${gone.url}/a.png` }, { url: `${gone.url}/b.png` }], policy: { mode: 'rank' } });
    assert.equal(r.status, 422, JSON.stringify(r.json));
    assert.equal(errorCode(r.json), 'NO_USABLE_IMAGE');
    assert.match(JSON.stringify(r.json.details), /NETWORK/);
  });

  it('refuses a reserved __proto__ key instead of dropping it', async () => {
    const body = `{"job_id":"proto","candidates":[{"base64":"${png}"}],"policy":{"mode":"rank"},"metadata":{"__proto__":{"admin":true},"kept":1}}`;
    const r = await postBearer(service.url, 'token', body);
    assert.equal(r.status, 422, JSON.stringify(r.json).slice(0, 300));
    assert.equal(errorCode(r.json), 'RESERVED_KEY');
  });

  it('refuses a payload with 200 000 metadata keys quickly', async () => {
    const metadata = Object.fromEntries(Array.from({ length: 200_000 }, (_, i) => [`k${i}`, i]));
    const started = performance.now();
    const r = await postBearer(service.url, 'token', { job_id: 'wide', candidates: [{ base64: png }], policy: { mode: 'rank' }, metadata });
    const ms = performance.now() - started;
    assert.equal(r.status, 422, JSON.stringify(r.json).slice(0, 300));
    assert.equal(errorCode(r.json), 'TOO_MANY_VALUES');
    assert.ok(ms < 1500, `answered in ${ms.toFixed(0)} ms`);
  });
});
