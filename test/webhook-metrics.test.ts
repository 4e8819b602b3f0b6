import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import type { Service } from '@clip-agiqa/webhook';

import { bearerService, image, postBearer } from './support/webhook-helpers.js';

describe('webhook metrics', { timeout: 120_000 }, () => {
  let running: Awaited<ReturnType<typeof bearerService>>;
  let service: Service;
  before(async () => { running = await bearerService(); service = running.service; });
  after(() => running[Symbol.asyncDispose]());
  const scrape = async () => (await fetch(`${service.url}/metrics`)).text();

  it('labels requests by route template and status class, never by raw path', async () => {
    const r = await postBearer(service.url, 'token', { job_id: 'm1', candidates: [{ base64: image('square.png').toString('base64') }], policy: { mode: 'rank' } });
    assert.equal(r.status, 200);
    await fetch(`${service.url}/jobs/token/some-job-id`);
    const text = await scrape();
    assert.match(text, /clip_agiqa_requests_total\{route="\/hooks\/token",status="2xx"\} 1/);
    assert.match(text, /clip_agiqa_requests_total\{route="\/jobs\/:route\/:id",status="4xx"\} 1/);
    assert.doesNotMatch(text, /some-job-id/);
  });

  it('stays the same size and cheap to scrape after 3,000 requests to unknown paths', async () => {
    const before = await scrape();
    for (let i = 0; i < 3000; i += 100) {
      await Promise.all(Array.from({ length: 100 }, (_, k) => fetch(`${service.url}/probe-${i + k}/${Math.random().toString(36).slice(2)}`).then((r) => r.arrayBuffer())));
    }
    const started = performance.now();
    const text = await scrape();
    const ms = performance.now() - started;
    assert.doesNotMatch(text, /probe-/);
    assert.match(text, /clip_agiqa_requests_total\{route="unmatched",status="4xx"\} 3000/);
    assert.ok(Math.abs(text.length - before.length) < 2000, `the exposition grew from ${before.length} to ${text.length} bytes`);
    assert.ok(ms < 500, `a scrape took ${ms.toFixed(0)} ms`);
  });
});
