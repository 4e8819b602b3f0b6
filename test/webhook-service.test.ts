import assert from 'node:assert/strict';
import { generateKeyPairSync, sign as edSign } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { createScorer, type Scorer } from '@clip-agiqa/core';
import { compileSchema } from '@clip-agiqa/core/internal';
import sharp from 'sharp';
import { ConfigError, DiskStore, loadConfig, signedHeaders, startService, verifyStandardWebhook, webhookVerdictSchema, type Service, type WebhookConfig, type WebhookVerdict } from '@clip-agiqa/webhook';
import { falMessage } from '@clip-agiqa/webhook/internal';

import { DEMO_MODEL_DIR, IMAGES, tempDir, writePngBomb } from './support/helpers.js';

const SECRET = `whsec_${Buffer.from('inbound secret of the test route!').toString('base64')}`;
const CALLBACK_SECRET = `whsec_${Buffer.from('callback secret of the service!!').toString('base64')}`;
const TOKEN = 'token-of-the-bearer-route-0123456789';
const falKeys = generateKeyPairSync('ed25519');
const validateVerdict = compileSchema<WebhookVerdict>(webhookVerdictSchema);
const image = (name: string) => readFileSync(join(IMAGES, name));
const NAMES = ['landscape.jpg', 'portrait.jpg', 'square.png', 'wide.webp'];

function readAll(req: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    let s = '';
    req.on('data', (c: Buffer) => { s += c.toString(); });
    req.on('end', () => resolve(s));
  });
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('webhook service', () => {
  using t = tempDir();
  let scorer: Scorer;
  let store: DiskStore;
  let service: Service;
  let images: Server;
  let imagesUrl: string;
  let receiver: Server;
  let receiverUrl: string;
  const received: { headers: IncomingMessage['headers']; body: string }[] = [];
  let failuresToServe = 0;
  const logs: Record<string, unknown>[] = [];

  before(async () => {
    scorer = await createScorer({ model: DEMO_MODEL_DIR });
    store = await DiskStore.open(join(t.dir, 'data'));
    images = createServer((req, res) => res.end(image(req.url!.slice(1))));
    imagesUrl = await listen(images);
    receiver = createServer((req, res) => {
      void readAll(req).then((body) => {
        received.push({ headers: req.headers, body });
        if (failuresToServe > 0) {
          failuresToServe--;
          res.writeHead(503).end();
        } else res.end('ok');
      });
    });
    receiverUrl = await listen(receiver);
    const config: WebhookConfig = {
      port: 0, data_dir: join(t.dir, 'data'),
      routes: [
        { path: 'jobs', verifier: 'standard-webhooks', secrets: [SECRET] },
        { path: 'token', verifier: 'bearer', tokens: [TOKEN] },
        { path: 'replicate', verifier: 'bearer', tokens: [TOKEN], adapter: 'replicate', policy: { mode: 'best-of-n' } },
        { path: 'fal', verifier: 'fal', public_keys: [falKeys.publicKey.export({ format: 'jwk' }).x!], adapter: 'fal', policy: { mode: 'rank' } },
      ],
      callback: { secret: CALLBACK_SECRET, allow: ['127.0.0.0/8'], initial_backoff_ms: 50, max_backoff_ms: 200, max_attempts: 5, timeout_ms: 2000 },
      fetch: { allow: ['127.0.0.0/8'], max_bytes: 4 << 20 },
      limits: { body_bytes: 8 << 20 },
    };
    service = await startService({ config, scorer, store, log: (l) => void logs.push(l) });
  });
  after(async () => {
    await service.close();
    await store.close();
    await scorer.close();
    for (const s of [images, receiver]) { s.closeAllConnections(); s.close(); }
  });

  const post = async (route: string, payload: unknown, headers: Record<string, string> = {}) => {
    const body = typeof payload === 'string' ? payload : JSON.stringify(payload);
    const signed = route === 'jobs' ? signedHeaders(SECRET, `msg_${Math.random().toString(36).slice(2)}`, body) : { authorization: `Bearer ${TOKEN}` };
    const r = await fetch(`${service.url}/hooks/${route}`, { method: 'POST', body, headers: { 'content-type': 'application/json', ...signed, ...headers } });
    return { status: r.status, headers: r.headers, json: (await r.json()) as Record<string, unknown> };
  };
  const inline = (names: string[]) => names.map((n) => ({ id: n, base64: image(n).toString('base64') }));

  it('answers a best-of-N job with the verdict: the true best by the scorer, the order, every score', async () => {
    const r = await post('jobs', { job_id: 'job-sync-1', candidates: inline(NAMES), policy: { mode: 'best-of-n' }, metadata: { user: 7 } });
    assert.equal(r.status, 200, JSON.stringify(r.json));
    const checked = validateVerdict(r.json);
    assert.ok(checked.ok, JSON.stringify(checked));
    const verdict = r.json as unknown as WebhookVerdict;
    const direct = await scorer.score(NAMES.map((n) => ({ id: n, image: image(n) })));
    const scores = new Map(direct.map((d) => [d.id, 'scores' in d ? d.scores.quality! : NaN] as const));
    const expected = [...NAMES].sort((a, b) => scores.get(b)! - scores.get(a)!);
    assert.deepEqual(verdict.order, expected);
    assert.equal(verdict.winner, expected[0]);
    assert.equal(verdict.type, 'bestof.selected');
    for (const c of verdict.candidates) assert.ok(Math.abs(c.scores!.quality! - scores.get(c.id)!) < 1e-9);
    assert.deepEqual(verdict.metadata, { user: 7 });
  });

  it('filters by a threshold: passing candidates best first, the rest flagged, event quality.rejected', async () => {
    const direct = await scorer.score(NAMES.map((n) => ({ id: n, image: image(n) })));
    const sorted = direct.map((d) => ('scores' in d ? d.scores.quality! : 0)).sort((a, b) => b - a);
    const threshold = (sorted[1]! + sorted[2]!) / 2;
    const r = await post('token', { job_id: 'job-filter', candidates: inline(NAMES), policy: { mode: 'filter', thresholds: { quality: threshold } } });
    assert.equal(r.status, 200);
    const v = r.json as unknown as WebhookVerdict;
    assert.equal(v.type, 'quality.rejected');
    assert.equal(v.passed.length, 2);
    assert.deepEqual(v.passed, v.order.slice(0, 2));
    const none = await post('token', { job_id: 'job-reroll', candidates: inline(NAMES), policy: { mode: 'reroll-if-none-pass', thresholds: { quality: sorted[0]! + 1 } } });
    assert.equal((none.json as unknown as WebhookVerdict).type, 'reroll.requested');
  });

  it('refuses bad requests with a 4xx and a reason, and keeps serving', async () => {
    using bombDir = tempDir();
    await writePngBomb(join(bombDir.dir, 'bomb.png'), 9000, 9000);
    const bomb = readFileSync(join(bombDir.dir, 'bomb.png')).toString('base64');
    const cases: [unknown, number, RegExp][] = [
      ['{"job_id": "x", ', 400, /MALFORMED_JSON/],
      [{ job_id: 'x', candidates: inline(['square.png']), policy: { mode: 'filter' }, surprise: 1 }, 422, /surprise/],
      [{ job_id: 'x', candidates: [], policy: { mode: 'rank' } }, 422, /candidates/],
      [{ job_id: 'x', candidates: [{ base64: Buffer.from('just some text').toString('base64') }], policy: { mode: 'rank' } }, 422, /NOT_AN_IMAGE/],
      [{ job_id: 'x', candidates: [{ id: 'bomb', base64: bomb }], policy: { mode: 'rank' } }, 422, /TOO_MANY_PIXELS/],
      [{ job_id: 'x', candidates: [{ url: 'http://169.254.169.254/latest/meta-data/' }], policy: { mode: 'rank' } }, 422, /BLOCKED_ADDRESS/],
      [{ job_id: 'x', candidates: [{ base64: 'A'.repeat(9 << 20) }], policy: { mode: 'rank' } }, 413, /PAYLOAD_TOO_LARGE/],
    ];
    for (const [payload, status, pattern] of cases) {
      const r = await post('jobs', payload);
      assert.equal(r.status, status, JSON.stringify(r.json).slice(0, 300));
      assert.match(JSON.stringify(r.json), pattern);
    }
    const body = JSON.stringify({ job_id: 'x', candidates: inline(['square.png']), policy: { mode: 'rank' } });
    const headers = signedHeaders(SECRET, 'msg_once', body);
    const send = (h: Record<string, string>, b = body) => fetch(`${service.url}/hooks/jobs`, { method: 'POST', body: b, headers: { 'content-type': 'application/json', ...h } });
    const first = await send(headers);
    assert.equal(first.status, 200);
    const replayed = await send(headers);
    assert.equal(replayed.status, 200, 'a repeated message gets the original answer');
    assert.equal(replayed.headers.get('idempotent-replayed'), 'true');
    assert.deepEqual(await replayed.json(), await first.json());
    assert.equal((await send(headers, body.replace('rank', 'filter'))).status, 401, 'tampered body');
    assert.equal((await send(signedHeaders(CALLBACK_SECRET, 'msg_other', body))).status, 401, 'wrong secret');
    assert.equal((await send({ ...signedHeaders(SECRET, 'msg_old', body, Date.now() - 10 * 60 * 1000) })).status, 401, 'stale');
    assert.equal((await send({})).status, 401, 'unsigned');
    assert.equal((await post('token', body, { authorization: 'Bearer wrong-token-wrong-token-wrong' })).status, 401);
    assert.equal((await fetch(`${service.url}/hooks/nope`, { method: 'POST', body })).status, 404);
    assert.equal((await fetch(`${service.url}/healthz`)).status, 200);
    assert.ok(logs.some((l) => l.msg === 'refused image URL (SSRF guard)'), 'SSRF attempts are logged');
  });

  it('acknowledges asynchronous jobs at once and delivers a signed verdict, retried with the same webhook-id', async () => {
    failuresToServe = 2;
    received.length = 0;
    const job = {
      job_id: 'job-async-1', callback_url: `${receiverUrl}/verdicts`, policy: { mode: 'best-of-n' },
      candidates: [{ id: 'a', url: `${imagesUrl}/landscape.jpg` }, { id: 'b', url: `${imagesUrl}/square.png` }, { id: 'ssrf', url: 'http://[::ffff:169.254.169.254]/' }],
    };
    const r = await post('jobs', job);
    assert.equal(r.status, 202, JSON.stringify(r.json));
    assert.equal(r.json.status_url, '/jobs/jobs/job-async-1');
    const readToken = { authorization: `Bearer ${r.json.read_token as string}` };
    const deadline = Date.now() + 20_000;
    while (received.length < 3 && Date.now() < deadline) await new Promise((res) => setTimeout(res, 50));
    assert.equal(received.length, 3, 'two failed attempts and one success');
    const ids = new Set(received.map((d) => d.headers['webhook-id']));
    assert.equal(ids.size, 1, 'every attempt carries the same webhook-id');
    for (const d of received) verifyStandardWebhook([CALLBACK_SECRET], d.headers, d.body);
    const event = JSON.parse(received.at(-1)!.body) as { type: string; data: WebhookVerdict };
    assert.equal(event.type, 'bestof.selected');
    assert.ok(validateVerdict(event.data).ok);
    assert.deepEqual(event.data.candidates.find((c) => c.id === 'ssrf')!.error!.code, 'BLOCKED_ADDRESS');
    let state: { state: string; delivery: { attempts: number } } | undefined;
    while (Date.now() < deadline) {
      state = await (await fetch(`${service.url}/jobs/jobs/job-async-1`, { headers: readToken })).json() as typeof state;
      if (state!.state === 'delivered') break;
      await new Promise((res) => setTimeout(res, 20));
    }
    assert.equal(state!.state, 'delivered');
    assert.equal(state!.delivery.attempts, 3);
    const again = await post('jobs', job);
    assert.equal(again.status, 202, 'the same job again (a retry under a new message id) gets the original answer');
    assert.deepEqual(again.json, r.json);
    assert.equal((await post('jobs', { ...job, policy: { mode: 'rank' } })).status, 409, 'another job under a taken id is refused');
  });

  it('splits a 2x2 grid into four candidates before best-of-4', async () => {
    const tiles = await Promise.all(NAMES.map((n) => sharp(image(n)).resize(160, 160, { fit: 'fill' }).png().toBuffer()));
    const grid = await sharp({ create: { width: 320, height: 320, channels: 3, background: '#000' } })
      .composite(tiles.map((input, k) => ({ input, left: (k % 2) * 160, top: Math.floor(k / 2) * 160 }))).png().toBuffer();
    const r = await post('jobs', { job_id: 'grid', candidates: [{ id: 'g', base64: grid.toString('base64'), grid: '2x2' }], policy: { mode: 'best-of-n' } });
    assert.equal(r.status, 200, JSON.stringify(r.json));
    const v = r.json as unknown as WebhookVerdict;
    assert.deepEqual(v.candidates.map((c) => c.id), ['g-1', 'g-2', 'g-3', 'g-4']);
    const quarters = await Promise.all([0, 1, 2, 3].map((k) => sharp(grid).extract({ left: (k % 2) * 160, top: Math.floor(k / 2) * 160, width: 160, height: 160 }).png().toBuffer()));
    const direct = await scorer.score(quarters);
    v.candidates.forEach((c, k) => {
      const d = direct[k]!;
      assert.ok('scores' in d && Math.abs(c.scores!.quality! - d.scores.quality!) < 1e-6, `${c.id}`);
    });
  });

  it('maps Replicate predictions to jobs and ignores unfinished ones', async () => {
    const processing = await post('replicate', { id: 'pred-1', status: 'processing', output: null });
    assert.deepEqual(processing.json, { ignored: true, reason: 'prediction status processing' });
    const done = await post('replicate', { id: 'pred-1', status: 'succeeded', input: { prompt: 'a cat' },
      output: [`${imagesUrl}/portrait.jpg`, `${imagesUrl}/wide.webp`] });
    assert.equal(done.status, 200);
    assert.equal((done.json as unknown as WebhookVerdict).order.length, 2);
  });

  it('verifies fal\'s ED25519 signatures and maps its results to jobs', async () => {
    const body = JSON.stringify({ request_id: 'fal-req-1', status: 'OK', payload: { prompt: 'a lighthouse', images: [{ url: `${imagesUrl}/landscape.jpg` }, { url: `${imagesUrl}/square.png` }] } });
    const ts = String(Math.floor(Date.now() / 1000));
    const headers = {
      'content-type': 'application/json', 'x-fal-webhook-request-id': 'fal-req-1', 'x-fal-webhook-user-id': 'user-1', 'x-fal-webhook-timestamp': ts,
      'x-fal-webhook-signature': edSign(null, falMessage('fal-req-1', 'user-1', ts, body), falKeys.privateKey).toString('hex'),
    };
    const r = await fetch(`${service.url}/hooks/fal`, { method: 'POST', body, headers });
    assert.equal(r.status, 200);
    const v = await r.json() as WebhookVerdict;
    assert.deepEqual(v.candidates.map((c) => c.id).sort(), ['fal-req-1-0', 'fal-req-1-1']);
    assert.equal((await fetch(`${service.url}/hooks/fal`, { method: 'POST', body: body.replace('OK', 'OK '), headers })).status, 401);
  });

  it('serves health, readiness, Prometheus metrics and the OpenAPI document', async () => {
    assert.equal((await fetch(`${service.url}/readyz`)).status, 200);
    const metrics = await (await fetch(`${service.url}/metrics`)).text();
    assert.match(metrics, /clip_agiqa_verdicts_total\{type="bestof.selected"\} \d+/);
    assert.match(metrics, /clip_agiqa_delivery_retries_total \d+/);
    assert.match(metrics, /clip_agiqa_scoring_seconds_count \d+/);
    assert.match(metrics, /clip_agiqa_queue_depth 0/);
    const doc = await (await fetch(`${service.url}/openapi.json`)).json() as { openapi: string; paths: Record<string, unknown> };
    assert.equal(doc.openapi, '3.1.0');
    assert.ok(doc.paths['/hooks/jobs'] && doc.paths['/jobs/{id}']);
  });

  it('sheds load with 429 and Retry-After instead of queueing without bound', async () => {
    const small = await startService({ scorer, store, log: () => undefined,
      config: { port: 0, data_dir: join(t.dir, 'data'), routes: [{ path: 'token', verifier: 'bearer', tokens: [TOKEN] }], limits: { concurrency: 1, sync_waiting: 2 } } });
    try {
      const body = JSON.stringify({ job_id: 'load', candidates: inline(['landscape.jpg', 'portrait.jpg']), policy: { mode: 'rank' } });
      const results = await Promise.all(Array.from({ length: 40 }, () => fetch(`${small.url}/hooks/token`, {
        method: 'POST', body, headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` } })));
      const statuses = results.map((r) => r.status);
      assert.ok(statuses.every((s) => s === 200 || s === 429), String(statuses));
      assert.ok(statuses.includes(429), 'some requests were shed');
      assert.ok(statuses.includes(200));
      assert.equal(results.find((r) => r.status === 429)!.headers.get('retry-after'), '1');
      await Promise.all(results.map((r) => r.arrayBuffer()));
    } finally {
      await small.close();
    }
  });

  it('downloads a job\'s images as soon as it is accepted, not when its turn to be scored comes', async () => {
    const requested: string[] = [];
    const slowImages = createServer((req, res) => {
      requested.push(req.url!);
      if (req.url === '/hang.png') return; // never answers: holds the only scoring slot until the fetch times out
      res.end(image('square.png'));
    });
    const slowUrl = await listen(slowImages);
    const own = await DiskStore.open(join(t.dir, 'early'));
    const small = await startService({ scorer, store: own, log: () => undefined, config: {
      port: 0, data_dir: join(t.dir, 'data'), routes: [{ path: 'token', verifier: 'bearer', tokens: [TOKEN] }], limits: { concurrency: 1 },
      callback: { secret: CALLBACK_SECRET, allow: ['127.0.0.0/8'] }, fetch: { allow: ['127.0.0.0/8'], timeout_ms: 1500 } } });
    try {
      const send = (id: string, file: string) => fetch(`${small.url}/hooks/token`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
        body: JSON.stringify({ job_id: id, callback_url: `${receiverUrl}/early`, candidates: [{ url: `${slowUrl}/${file}` }], policy: { mode: 'rank' } }) });
      assert.equal((await send('early-1', 'hang.png')).status, 202);
      assert.equal((await send('early-2', 'second.png')).status, 202);
      const deadline = Date.now() + 1000;
      while (!requested.includes('/second.png') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      assert.ok(requested.includes('/second.png'), 'the second job\'s image was fetched while the first job held the scoring slot');
      assert.equal(((await (await fetch(`${small.url}/jobs/token/early-2`, { headers: { authorization: `Bearer ${TOKEN}` } })).json()) as { state: string }).state, 'queued');
    } finally {
      await small.close();
      await own.close();
      slowImages.closeAllConnections();
      slowImages.close();
    }
  });

  it('answers 503 with Retry-After when the queue of accepted jobs is full', async () => {
    const hang = createServer(() => undefined);
    const hangUrl = await listen(hang);
    const own = await DiskStore.open(join(t.dir, 'full'));
    const small = await startService({ scorer, store: own, log: () => undefined, config: {
      port: 0, data_dir: join(t.dir, 'data'), routes: [{ path: 'token', verifier: 'bearer', tokens: [TOKEN] }], limits: { queue: 1 },
      callback: { secret: CALLBACK_SECRET, allow: ['127.0.0.0/8'] }, fetch: { allow: ['127.0.0.0/8'], timeout_ms: 500 } } });
    try {
      const job = (id: string) => JSON.stringify({ job_id: id, callback_url: `${receiverUrl}/q`, candidates: [{ url: `${hangUrl}/slow.png` }], policy: { mode: 'rank' } });
      const send = (id: string) => fetch(`${small.url}/hooks/token`, { method: 'POST', body: job(id), headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` } });
      assert.equal((await send('queued-1')).status, 202);
      const full = await send('queued-2');
      assert.equal(full.status, 503);
      assert.equal(full.headers.get('retry-after'), '5');
      assert.match(await full.text(), /QUEUE_FULL/);
    } finally {
      await small.close();
      await own.close();
      hang.closeAllConnections();
      hang.close();
    }
  });
});

describe('webhook configuration', () => {
  it('merges file, environment and flags, and lists every problem of an invalid one', async () => {
    using t = tempDir();
    const file = join(t.dir, 'serve.json');
    writeFileSync(file, JSON.stringify({ data_dir: 'data', port: 1, routes: [{ path: 'a', verifier: 'bearer', tokens: [TOKEN] }] }));
    const config = await loadConfig(file, { host: '0.0.0.0' }, { CLIP_AGIQA_PORT: '9000', CLIP_AGIQA_CALLBACK_SECRET: CALLBACK_SECRET });
    assert.equal(config.port, 9000);
    assert.equal(config.host, '0.0.0.0');
    assert.equal(config.callback?.secret, CALLBACK_SECRET);
    writeFileSync(file, JSON.stringify({ data_dir: 'data', routes: [{ path: 'A', verifier: 'magic' }], limits: { queue: 0 } }));
    await assert.rejects(loadConfig(file, {}, {}), (e: unknown) => e instanceof ConfigError && /routes\/0\/path/.test(e.message) && /verifier/.test(e.message) && /limits\/queue/.test(e.message));
    writeFileSync(file, JSON.stringify({ data_dir: 'data', routes: [{ path: 'open', verifier: 'unsigned' }] }));
    const unsigned = await loadConfig(file, {}, {});
    const scorer = await createScorer({ model: DEMO_MODEL_DIR });
    const store = await DiskStore.open(join(t.dir, 'data'));
    try {
      await assert.rejects(startService({ config: unsigned, scorer, store }), /allow_unsigned/);
    } finally {
      await store.close();
      await scorer.close();
    }
  });
});
