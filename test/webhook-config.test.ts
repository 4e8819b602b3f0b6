import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { createScorer, type Scorer } from '@clip-agiqa/core';
import { ConfigError, MemoryStore, resolveConfig, startService, type WebhookConfig } from '@clip-agiqa/webhook';
import { blockedReason, parseAllowList } from '@clip-agiqa/webhook/internal';

import { DEMO_MODEL_DIR, ROOT } from './support/helpers.js';
import { CALLBACK_SECRET, image, loopback, postBearer, readAll, SECRET, TOKEN, until } from './support/webhook-helpers.js';

const base = (extra: Partial<WebhookConfig> = {}): WebhookConfig => ({
  port: 0, data_dir: 'unused', routes: [{ path: 'jobs', verifier: 'standard-webhooks', secrets: [SECRET] }], ...extra,
});
const refused = (config: WebhookConfig, pattern: RegExp) =>
  assert.throws(() => resolveConfig(config), (e: unknown) => e instanceof ConfigError && pattern.test(e.message), pattern.source);

describe('webhook configuration fails fast', { timeout: 60_000 }, () => {
  let scorer: Scorer;
  before(async () => { scorer = await createScorer({ model: DEMO_MODEL_DIR }); });
  after(async () => { await scorer.close(); });

  it('refuses empty and short secrets, duplicate routes and invalid callback URLs at start-up', () => {
    refused(base({ routes: [{ path: 'jobs', verifier: 'standard-webhooks', secrets: [''] }] }), /route jobs.*secret/);
    refused(base({ routes: [{ path: 'jobs', verifier: 'standard-webhooks', secrets: ['whsec_QQ=='] }] }), /route jobs.*secret.*at least 16 bytes/);
    refused(base({ callback: { secret: `whsec_${Buffer.from('short').toString('base64')}AAAAAAAA` } }), /callback.*secret/);
    refused(base({ routes: [{ path: 'jobs', verifier: 'bearer', tokens: [TOKEN] }, { path: 'jobs', verifier: 'bearer', tokens: [TOKEN] }] }), /duplicate route.*jobs/);
    refused(base({ routes: [{ path: 'jobs', verifier: 'bearer', tokens: [TOKEN], callback_url: 'http://exa mple.com/' }] }), /route jobs.*callback_url/);
    refused(base({ routes: [{ path: 'jobs', verifier: 'bearer', tokens: [TOKEN], callback_url: 'http://user:pw@example.com/' }] }), /route jobs.*callback_url/);
    refused(base({ fetch: { allow: ['10.0.0.0/33'] } }), /10\.0\.0\.0\/33/);
    refused(base({ fetch: { max_bytes: 32 << 20 }, limits: { memory_bytes: 16 << 20 } }), /memory_bytes.*max_bytes/);
  });

  it('refuses unknown head names in route policies at start-up', async () => {
    const config = base({ routes: [{ path: 'r', verifier: 'bearer', tokens: [TOKEN], adapter: 'replicate', policy: { mode: 'reroll-if-none-pass', thresholds: { qualty: 3 } } }] });
    await assert.rejects(startService({ config, scorer, store: new MemoryStore(), log: () => undefined }), (e: unknown) => e instanceof ConfigError && /qualty/.test(e.message) && /quality/.test(e.message));
  });

  it('starts with route policies of every mode, the schema\'s defaults (k, threshold_kind) filled in by the configuration; refuses a filter without a bar', async () => {
    const route = (policy: object): WebhookConfig['routes'][number] => ({ path: 'r', verifier: 'bearer', tokens: [TOKEN], adapter: 'replicate', policy: policy as { mode: 'filter' } });
    for (const policy of [{ mode: 'filter', threshold: 3 }, { mode: 'filter', threshold: 50, threshold_kind: 'percentile' }, { mode: 'best-of' }, { mode: 'rank' }]) {
      const service = await startService({ config: base({ routes: [route(policy)] }), scorer, store: new MemoryStore(), log: () => undefined });
      await service.close();
    }
    await assert.rejects(startService({ config: base({ routes: [route({ mode: 'filter' })] }), scorer, store: new MemoryStore(), log: () => undefined }),
      (e: unknown) => e instanceof ConfigError && /mode filter needs a bar/.test(e.message));
  });

  it('refuses at acceptance a job with an unknown head or an invalid callback URL', async () => {
    const config = base({ routes: [{ path: 'token', verifier: 'bearer', tokens: [TOKEN] }], callback: { secret: CALLBACK_SECRET }, limits: { body_bytes: 1 << 20 } });
    const service = await startService({ config, scorer, store: new MemoryStore(), log: () => undefined });
    try {
      const candidates = [{ base64: image('square.png').toString('base64') }];
      const typo = await postBearer(service.url, 'token', { job_id: 'typo', candidates, policy: { mode: 'reroll-if-none-pass', thresholds: { qualty: 3 } } });
      assert.equal(typo.status, 422, JSON.stringify(typo.json));
      assert.match(JSON.stringify(typo.json), /UNKNOWN_HEAD.*qualty/);
      for (const callback_url of ['http://exa mple.com/cb', 'http://[::1', 'https://user:pw@example.com/cb']) {
        const bad = await postBearer(service.url, 'token', { job_id: 'cb', candidates, policy: { mode: 'rank' }, callback_url });
        assert.equal(bad.status, 422, `${callback_url}: ${JSON.stringify(bad.json)}`);
        assert.match(JSON.stringify(bad.json), /INVALID_CALLBACK_URL/);
      }
    } finally {
      await service.close();
    }
  });

  it('keeps separate allow-lists: a loopback callback target does not open loopback image fetching', async () => {
    await using images = await loopback((_req, res) => res.end(image('square.png')));
    const got: string[] = [];
    await using receiver = await loopback((req, res) => void readAll(req).then((b) => { got.push(b); res.end(); }));
    const config = base({ routes: [{ path: 'token', verifier: 'bearer', tokens: [TOKEN] }], callback: { secret: CALLBACK_SECRET, allow: ['127.0.0.0/8'] } });
    const service = await startService({ config, scorer, store: new MemoryStore(), log: () => undefined });
    try {
      const r = await postBearer(service.url, 'token', { job_id: 'sep', callback_url: `${receiver.url}/cb`, candidates: [{ id: 'a', url: `${images.url}/a.png` }], policy: { mode: 'rank' } });
      assert.equal(r.status, 202, JSON.stringify(r.json));
      assert.ok(await until(() => got.length > 0), 'the verdict reached the loopback receiver');
      assert.match(got[0]!, /BLOCKED_ADDRESS/, 'the loopback image was refused');
    } finally {
      await service.close();
    }
  });

  it('ships an example configuration that fetches no image from loopback or private ranges', () => {
    const example = resolveConfig(JSON.parse(readFileSync(join(ROOT, 'examples/webhooks/serve.json'), 'utf8')) as WebhookConfig);
    const allow = parseAllowList(example.fetch.allow);
    for (const address of ['127.0.0.1', '::1', '10.0.0.1', '192.168.1.1', '169.254.169.254']) assert.ok(blockedReason(address, allow), address);
  });
});
