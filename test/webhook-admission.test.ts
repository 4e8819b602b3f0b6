import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { createScorer, type Scorer } from '@clip-agiqa/core';
import { MemoryStore, startService, type WebhookConfig } from '@clip-agiqa/webhook';
import sharp from 'sharp';

import { DEMO_MODEL_DIR } from './support/helpers.js';
import { image, loopback, postBearer, readAll, until } from './support/webhook-helpers.js';

const TOKEN_A = 'token-of-tenant-a-0123456789abcdef';
const TOKEN_B = 'token-of-tenant-b-0123456789abcdef';
const SECRET_A = `whsec_${Buffer.from('callback secret of tenant A!!!!!').toString('base64')}`;
const SECRET_B = `whsec_${Buffer.from('callback secret of tenant B!!!!!').toString('base64')}`;

/** The real scorer, with every scoring call held for `ms` first and the images it was given counted. */
function slowScorer(real: Scorer, ms: number): { scorer: Scorer; scored: () => number } {
  let images = 0;
  const score = async (input: unknown) => {
    await new Promise((r) => setTimeout(r, ms));
    images += Array.isArray(input) ? input.length : 1;
    return (real.score as (x: unknown) => Promise<unknown>)(input);
  };
  const scorer = new Proxy(real, { get: (t, k) => (k === 'score' ? score : typeof t[k as keyof Scorer] === 'function' ? (t[k as keyof Scorer] as () => unknown).bind(t) : t[k as keyof Scorer]) });
  return { scorer, scored: () => images };
}

describe('webhook admission: memory before work, fair slots across tenants', { timeout: 120_000 }, () => {
  // One loaded model for the file: each service gets it behind its own holding proxy.
  let real: Scorer;
  before(async () => { real = await createScorer({ model: DEMO_MODEL_DIR }); });
  after(async () => real.close());

  /** A service on an in-memory store whose scorer holds every call for `holdMs`; disposing closes the service. */
  async function slowService(holdMs: number, config: Omit<WebhookConfig, 'port' | 'data_dir'>) {
    const { scorer, scored } = slowScorer(real, holdMs);
    const service = await startService({ scorer, store: new MemoryStore(), log: () => undefined, config: { port: 0, data_dir: 'unused', ...config } });
    return { service, scored, async [Symbol.asyncDispose]() { await service.close(); } };
  }

  const inlineJob = (id: string, png: Buffer, n = 1) => ({ job_id: id, candidates: Array.from({ length: n }, (_, k) => ({ id: `c${k + 1}`, base64: png.toString('base64') })), policy: { mode: 'rank' } });
  const bigPng = () => sharp(image('square.png')).resize(1000, 1000, { fit: 'fill' }).png().toBuffer();

  it('admits a job to the memory budget before decoding any of it, so parallel big jobs are not turned away half scored', async () => {
    const png = await bigPng();
    // Room for two candidates at once: two jobs of three candidates each cannot all decode side by side.
    const perCandidate = png.length + 1000 * 1000 * 8;
    await using s = await slowService(400, {
      routes: [{ path: 'a', verifier: 'bearer', tokens: [TOKEN_A], body_bytes: 16 << 20 }],
      limits: { memory_bytes: 2 * perCandidate + 4096, concurrency: 2, memory_wait_ms: 600 }, fetch: { max_bytes: 2 << 20 },
    });
    const first = postBearer(s.service.url, 'a', inlineJob('first', png, 3), {}, TOKEN_A);
    await new Promise((r) => setTimeout(r, 50));
    const second = postBearer(s.service.url, 'a', inlineJob('second', png, 3), {}, TOKEN_A);
    const answers = await Promise.all([first, second]);
    assert.deepEqual(answers.map((a) => a.status), [200, 200], JSON.stringify(answers.map((a) => a.json)).slice(0, 400));
    assert.equal(s.scored(), 6, 'every candidate decoded once, none for a refused job');
    assert.match(await (await fetch(`${s.service.url}/metrics`)).text(), /clip_agiqa_memory_reserved_bytes 0/);
  });

  it('refuses a job that finds no room before any of it is decoded', async () => {
    const png = await bigPng();
    await using s = await slowService(800, {
      routes: [{ path: 'a', verifier: 'bearer', tokens: [TOKEN_A], body_bytes: 16 << 20 }],
      limits: { memory_bytes: png.length + 1000 * 1000 * 8 + 4096, concurrency: 2, memory_wait_ms: 300 }, fetch: { max_bytes: 2 << 20 },
    });
    const first = postBearer(s.service.url, 'a', inlineJob('first', png), {}, TOKEN_A);
    await new Promise((r) => setTimeout(r, 100));
    const second = await postBearer(s.service.url, 'a', inlineJob('second', png), {}, TOKEN_A);
    assert.equal(second.status, 503);
    assert.equal((second.json.error as { code: string }).code, 'MEMORY_BUSY');
    assert.equal((await first).status, 200);
    assert.equal(s.scored(), 1, 'the refused job decoded nothing');
  });

  it('answers a synchronous request in about its own time while another tenant\'s burst of asynchronous jobs downloads', async () => {
    const png = image('square.png');
    // A slow image is held until the checks below are done, then sent at once.
    const held: (() => void)[] = [];
    let released = false;
    const hold = (send: () => void) => {
      if (released) send();
      else held.push(send);
    };
    const release = () => {
      released = true;
      for (const send of held.splice(0)) send();
    };
    await using images = await loopback((req, res) => {
      if (!req.url!.startsWith('/slow/')) return void res.end(png);
      hold(() => res.end(image('small-upscaled.jpg')));
    });
    await using receiver = await loopback((req, res) => void readAll(req).then(() => res.end()));
    const config: WebhookConfig = {
      port: 0, data_dir: 'unused',
      routes: [{ path: 'a', verifier: 'bearer', tokens: [TOKEN_A], callback_secret: SECRET_A }, { path: 'b', verifier: 'bearer', tokens: [TOKEN_B] }],
      fetch: { allow: ['127.0.0.0/8'], max_bytes: 1 << 20 }, callback: { allow: ['127.0.0.0/8'] }, limits: { memory_wait_ms: 20_000 },
    };
    const service = await startService({ scorer: real, store: new MemoryStore(), log: () => undefined, config });
    const syncRequest = async (id: string) => {
      const started = performance.now();
      const r = await postBearer(service.url, 'b', { job_id: id, candidates: [{ url: `${images.url}/fast/${id}.png` }], policy: { mode: 'rank' } }, {}, TOKEN_B);
      assert.equal(r.status, 200, JSON.stringify(r.json));
      return performance.now() - started;
    };
    try {
      await syncRequest('warm-up');
      const alone = await syncRequest('alone');
      // 8 jobs x 16 slow images: 128 downloads, more than ten rounds of the download slots.
      const burst = await Promise.all(Array.from({ length: 8 }, (_, j) => postBearer(service.url, 'a', {
        job_id: `burst-${j}`, callback_url: `${receiver.url}/cb`, candidates: Array.from({ length: 16 }, (_, k) => ({ url: `${images.url}/slow/${j}-${k}.png` })), policy: { mode: 'rank' },
      }, {}, TOKEN_A)));
      assert.deepEqual(burst.map((r) => r.status), burst.map(() => 202));
      await new Promise((r) => setTimeout(r, 200));
      const underBurst = await syncRequest('under-burst');
      assert.ok(underBurst < alone + 1500, `alone ${alone.toFixed(0)} ms, under another tenant's burst ${underBurst.toFixed(0)} ms`);
      const metrics = await (await fetch(`${service.url}/metrics`)).text();
      assert.match(metrics, /clip_agiqa_waiting_for_download [1-9]/, 'the burst was still downloading');
      release();
      assert.ok(await until(async () => /clip_agiqa_queue_depth 0/.test(await (await fetch(`${service.url}/metrics`)).text()), 30_000), 'the burst drains');
    } finally {
      release();
      await service.close();
    }
  });

  it('shares the scoring slots between routes: one tenant\'s job is not scored after another\'s whole burst', async () => {
    const delivered: string[] = [];
    await using receiver = await loopback((req, res) => void readAll(req).then((body) => { delivered.push((JSON.parse(body) as { data: { job_id: string } }).data.job_id); res.end(); }));
    await using s = await slowService(300, {
      limits: { concurrency: 2 }, callback: { allow: ['127.0.0.0/8'] },
      routes: [{ path: 'a', verifier: 'bearer', tokens: [TOKEN_A], callback_secret: SECRET_A, body_bytes: 1 << 20 }, { path: 'b', verifier: 'bearer', tokens: [TOKEN_B], callback_secret: SECRET_B, body_bytes: 1 << 20 }],
    });
    const job = (id: string) => ({ ...inlineJob(id, image('square.png')), callback_url: `${receiver.url}/cb` });
    for (let j = 0; j < 8; j++) assert.equal((await postBearer(s.service.url, 'a', job(`a-${j}`), {}, TOKEN_A)).status, 202);
    assert.equal((await postBearer(s.service.url, 'b', job('b-0'), {}, TOKEN_B)).status, 202);
    assert.ok(await until(() => delivered.length === 9, 30_000), `delivered ${delivered.join(' ')}`);
    assert.deepEqual([...delivered].sort(), ['a-0', 'a-1', 'a-2', 'a-3', 'a-4', 'a-5', 'a-6', 'a-7', 'b-0']);
    assert.ok(delivered.indexOf('b-0') <= 3, `tenant B's job was delivered ${delivered.indexOf('b-0') + 1}th of 9: ${delivered.join(' ')}`);
  });

  it('bounds a synchronous request\'s wait for a scoring slot, with a code that says so', async () => {
    await using s = await slowService(1500, { routes: [{ path: 'a', verifier: 'bearer', tokens: [TOKEN_A], body_bytes: 1 << 20 }], limits: { concurrency: 1, memory_wait_ms: 300 } });
    const first = postBearer(s.service.url, 'a', inlineJob('first', image('square.png')), {}, TOKEN_A);
    await new Promise((r) => setTimeout(r, 200));
    const started = performance.now();
    const second = await postBearer(s.service.url, 'a', inlineJob('second', image('square.png')), {}, TOKEN_A);
    assert.equal(second.status, 503, JSON.stringify(second.json).slice(0, 200));
    assert.equal((second.json.error as { code: string }).code, 'SCORING_BUSY');
    assert.ok(second.headers.get('retry-after'));
    assert.ok(performance.now() - started < 1200, 'refused once its wait was over, not when the slot came free');
    assert.equal((await first).status, 200);
  });
});
