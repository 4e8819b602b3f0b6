import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import type { Service } from '@clip-agiqa/webhook';

import { bearerService, image, postBearer, TOKEN } from './support/webhook-helpers.js';

describe('webhook service edge cases', { timeout: 60_000 }, () => {
  let running: Awaited<ReturnType<typeof bearerService>>;
  let service: Service;
  before(async () => { running = await bearerService(); service = running.service; });
  after(() => running[Symbol.asyncDispose]());

  it('refuses deeply nested metadata with a 422 instead of failing with a 500', async () => {
    const deep = `${'{"a":'.repeat(20_000)}1${'}'.repeat(20_000)}`;
    const body = `{"job_id":"deep","candidates":[{"base64":"${image('square.png').toString('base64')}"}],"policy":{"mode":"rank"},"metadata":${deep}}`;
    const r = await postBearer(service.url, 'token', body);
    assert.equal(r.status, 422, JSON.stringify(r.json).slice(0, 200));
    assert.match(JSON.stringify(r.json), /TOO_DEEP/);
    assert.equal((await fetch(`${service.url}/healthz`)).status, 200);
  });

  it('answers a bad percent escape in a path with 400, and HEAD on health checks', async () => {
    const bad = await fetch(`${service.url}/jobs/token/%E0%A4%A`, { headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(bad.status, 400);
    assert.match(await bad.text(), /BAD_PATH/);
    for (const path of ['/healthz', '/readyz']) {
      const head = await fetch(`${service.url}${path}`, { method: 'HEAD' });
      assert.equal(head.status, 200, path);
      assert.equal(await head.text(), '');
    }
  });
});
