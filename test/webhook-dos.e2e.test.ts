import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { createScorer, type Scorer } from '@clip-agiqa/core';
import { MemoryStore, signedHeaders, startService, type Service, type WebhookConfig } from '@clip-agiqa/webhook';

import { CLI, DEMO_MODEL_DIR, tempDir } from './support/helpers.js';
import { image, loopback, postBearer, postSigned, SECRET, spawnServe, TOKEN } from './support/webhook-helpers.js';

/** Opens a connection, sends a hook request's headers and then one body byte per `everyMs`: a client that holds an upload. */
function slowUpload(url: string, path: string, headers: Record<string, string>, everyMs = 500, localAddress?: string): { socket: Socket; answer: Promise<string> } {
  const { hostname, port } = new URL(url);
  const socket = connect({ port: Number(port), host: hostname, localAddress });
  const head = Object.entries({ host: `${hostname}:${port}`, 'content-type': 'application/json', 'content-length': '100000', ...headers }).map(([k, v]) => `${k}: ${v}`).join('\r\n');
  socket.write(`POST ${path} HTTP/1.1\r\n${head}\r\n\r\n`);
  const drip = setInterval(() => { if (!socket.destroyed) socket.write('x'); }, everyMs);
  let text = '';
  const answer = new Promise<string>((resolve) => {
    socket.on('data', (d: Buffer) => { text += d.toString(); });
    socket.on('close', () => { clearInterval(drip); resolve(text); });
    socket.on('error', () => undefined);
  });
  return { socket, answer };
}

/** Well-formed Standard Webhooks headers with a signature that will not match: only the body could tell. */
const forgedHeaders = (i: number) => ({ ...signedHeaders(`whsec_${Buffer.from(`not the secret, attacker ${i}!!!`).toString('base64')}`, `msg_forged_${i}`, 'x') });

describe('webhook service under slow and unauthenticated uploads', { timeout: 120_000 }, () => {
  let scorer: Scorer;
  before(async () => { scorer = await createScorer({ model: DEMO_MODEL_DIR }); });
  after(async () => { await scorer.close(); });

  const config = (extra: Partial<WebhookConfig> = {}): WebhookConfig => ({
    port: 0, data_dir: 'unused', routes: [{ path: 'jobs', verifier: 'standard-webhooks', secrets: [SECRET] }, { path: 'token', verifier: 'bearer', tokens: [TOKEN] },
      { path: 'inline', verifier: 'bearer', tokens: [TOKEN], body_bytes: 1 << 20 }], ...extra,
  } as WebhookConfig);
  const job = (id: string) => ({ job_id: id, candidates: [{ base64: image('square.png').toString('base64') }], policy: { mode: 'rank' } });

  it('answers signed requests normally while 40 slow unauthenticated uploads are open', async () => {
    const service: Service = await startService({ config: config({ limits: { body_bytes: 1 << 20 } }), scorer, store: new MemoryStore(), log: () => undefined });
    const slow = Array.from({ length: 40 }, (_, i) => slowUpload(service.url, '/hooks/jobs', i % 2 ? forgedHeaders(i) : {}, 500, `127.0.0.${2 + (i % 20)}`));
    try {
      await new Promise((r) => setTimeout(r, 300));
      const started = Date.now();
      const r = await postSigned(service.url, 'jobs', job('while-attacked'), 'msg_real');
      assert.equal(r.status, 200, JSON.stringify(r.json));
      assert.ok(Date.now() - started < 5000, `answered in ${Date.now() - started} ms`);
      const unsigned = await Promise.race([slow[0]!.answer, new Promise<string>((r) => setTimeout(() => r('still open'), 2000))]);
      assert.match(unsigned, /^HTTP\/1\.1 401/, 'an upload without signature headers is refused before its body is read');
    } finally {
      slow.forEach((s) => s.socket.destroy());
      await service.close();
    }
  });

  it('keeps answering a signed sender while 300 slow forged uploads from 75 other addresses stay open', async () => {
    const service: Service = await startService({ config: config({ limits: { body_bytes: 1 << 20 } }), scorer, store: new MemoryStore(), log: () => undefined });
    // Linux routes all of 127/8 to the loopback interface: each attacker connects from its own address.
    const attacker = (i: number) => `127.0.0.${2 + (i % 75)}`;
    const answers: string[] = [];
    let attacking = true;
    const open = new Set<Socket>();
    const keepOpen = (i: number): void => {
      const s = slowUpload(service.url, '/hooks/jobs', forgedHeaders(i), 1000, attacker(i));
      open.add(s.socket);
      void s.answer.then((text) => { open.delete(s.socket); answers.push(text.split('\r\n')[0]!); if (attacking) keepOpen(i); });
    };
    try {
      for (let i = 0; i < 300; i++) keepOpen(i);
      await new Promise((r) => setTimeout(r, 1000));
      const statuses: number[] = [];
      for (let k = 0; k < 16; k++) {
        statuses.push((await postSigned(service.url, 'jobs', job(`under-attack-${k}`), `msg_under_attack_${k}`)).status);
        await new Promise((r) => setTimeout(r, 500));
      }
      assert.deepEqual(statuses, statuses.map(() => 200), `signed requests answered ${statuses.join(' ')}`);
      const more = Array.from({ length: 5 }, () => slowUpload(service.url, '/hooks/jobs', forgedHeaders(0), 1000, attacker(0)));
      more.slice(0, 4).forEach((s) => open.add(s.socket));
      assert.match(await more[4]!.answer, /^HTTP\/1\.1 429/, 'a ninth upload from one address is refused at once');
      assert.ok(answers.some((a) => / 408 /.test(a)), `uploads slower than the minimum rate are cut off (${answers.length} answered)`);
    } finally {
      attacking = false;
      for (const s of open) s.destroy();
      await service.close();
    }
  });

  it('lets a signed sender in when slow uploads from as many addresses hold every upload slot', async () => {
    const service: Service = await startService({ config: config({ limits: { body_bytes: 1 << 20, uploads: 20 } }), scorer, store: new MemoryStore(), log: () => undefined });
    const slow = Array.from({ length: 20 }, (_, i) => slowUpload(service.url, '/hooks/jobs', forgedHeaders(i), 1000, `127.0.0.${2 + i}`));
    try {
      await new Promise((r) => setTimeout(r, 1500));
      const statuses: number[] = [];
      for (let k = 0; k < 5; k++) statuses.push((await postSigned(service.url, 'jobs', job(`crowded-${k}`), `msg_crowded_${k}`)).status);
      assert.deepEqual(statuses, [200, 200, 200, 200, 200]);
      const cut = await Promise.all(slow.slice(0, 20).map((s) => Promise.race([s.answer, new Promise<string>((r) => setTimeout(() => r(''), 100))])));
      assert.equal(cut.filter((a) => /^HTTP\/1\.1 503/.test(a)).length, 1, 'the slowest upload gave its slot up once; the signed requests then reused it');
    } finally {
      slow.forEach((s) => s.socket.destroy());
      await service.close();
    }
  });

  it('bounds what one address buffers before its signatures can be checked', async () => {
    const service: Service = await startService({ config: config({ limits: { body_bytes: 1 << 20, upload_bytes_per_address: 1 << 16 } }), scorer, store: new MemoryStore(), log: () => undefined });
    const big = (from: string) => {
      const s = slowUpload(service.url, '/hooks/jobs', { ...forgedHeaders(1), 'content-length': String(1 << 20) }, 1000, from);
      s.socket.write('x'.repeat(600_000));
      return s;
    };
    const first = big('127.0.0.2');
    const other = big('127.0.0.3');
    try {
      await new Promise((r) => setTimeout(r, 300));
      const second = big('127.0.0.2');
      const answer = await Promise.race([second.answer, new Promise<string>((r) => setTimeout(() => r('still reading'), 3000))]);
      assert.match(answer, /^HTTP\/1\.1 429/, 'one address may buffer one full body, not two');
      assert.match(answer, /ADDRESS_UPLOAD_LIMIT/);
      assert.ok(!first.socket.destroyed && !other.socket.destroyed, 'the first body and another address\'s body are still being read');
    } finally {
      first.socket.destroy();
      other.socket.destroy();
      await service.close();
    }
  });

  it('cuts off a body that does not arrive within the body timeout, and refuses an oversized one before reading it', async () => {
    const service = await startService({ config: config({ limits: { body_timeout_ms: 800 } }), scorer, store: new MemoryStore(), log: () => undefined });
    try {
      const started = Date.now();
      const slow = slowUpload(service.url, '/hooks/token', { authorization: `Bearer ${TOKEN}` }, 200);
      const text = await slow.answer;
      assert.match(text, /^HTTP\/1\.1 408/);
      assert.ok(Date.now() - started < 4000, `cut after ${Date.now() - started} ms`);
      const big = await postBearer(service.url, 'token', job('big'));
      assert.equal(big.status, 413, 'the default body limit is small: a job carrying URLs needs kilobytes');
      assert.equal((await postBearer(service.url, 'inline', job('big'))).status, 200, 'a route that takes inline images raises its own limit');
      const declared = slowUpload(service.url, '/hooks/token', { authorization: `Bearer ${TOKEN}`, 'content-length': String(64 << 20) });
      assert.match(await declared.answer, /^HTTP\/1\.1 413/);
    } finally {
      await service.close();
    }
  });

  it('exits on SIGTERM within the grace period while slow uploads are open', async () => {
    using t = tempDir();
    const file = join(t.dir, 'serve.json');
    writeFileSync(file, JSON.stringify({ ...config({ limits: { shutdown_grace_ms: 1000 } }), data_dir: join(t.dir, 'data') }));
    const { child, url } = await spawnServe(file);
    try {
      const slow = Array.from({ length: 10 }, (_, i) => slowUpload(url, '/hooks/jobs', forgedHeaders(i)));
      await new Promise((r) => setTimeout(r, 300));
      const started = Date.now();
      child.kill('SIGTERM');
      const code = await Promise.race([new Promise((r) => child.once('exit', r)), new Promise((r) => setTimeout(() => r('still running'), 8000))]);
      assert.equal(code, 0, `exit code after SIGTERM: ${String(code)}`);
      assert.ok(Date.now() - started < 4000, `exited after ${Date.now() - started} ms`);
      slow.forEach((s) => s.socket.destroy());
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  });

  it('shuts down cleanly on a SIGTERM that arrives while the model is still loading', async () => {
    using t = tempDir();
    let manifestAsked!: () => void;
    const asked = new Promise<void>((r) => { manifestAsked = r; });
    await using models = await loopback((req, res) => {
      const name = decodeURIComponent(req.url!.slice('/demo/'.length));
      if (name === 'manifest.json') manifestAsked();
      setTimeout(() => res.end(readFileSync(join(DEMO_MODEL_DIR, name))), name === 'manifest.json' ? 1500 : 0);
    });
    const file = join(t.dir, 'serve.json');
    writeFileSync(file, JSON.stringify({ ...config(), data_dir: join(t.dir, 'data'), model: `${models.url}/demo/` }));
    const child = spawn(process.execPath, [CLI, 'serve', '--config', file], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, CLIP_AGIQA_CACHE: join(t.dir, 'cache') } });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    try {
      await asked;
      child.kill('SIGTERM');
      const [code, signal] = await Promise.race([new Promise<[number | null, string | null]>((r) => child.once('exit', (c, s) => r([c, s]))), new Promise<[string, null]>((r) => setTimeout(() => r(['still running', null]), 15_000))]);
      assert.deepEqual([code, signal], [0, null], stderr);
      assert.match(stderr, /shutting down/);
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  });
});
