import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { createScorer, type Scorer } from '@clip-agiqa/core';
import { ConfigError, MemoryStore, startService, type WebhookConfig, type WebhookVerdict } from '@clip-agiqa/webhook';

import { DEMO_MODEL_DIR, IMAGES } from './support/helpers.js';
import { loopback, postBearer, TOKEN } from './support/webhook-helpers.js';

type RoutePolicy = NonNullable<WebhookConfig['routes'][number]['policy']>;

const config = (policy: RoutePolicy): WebhookConfig => ({
  port: 0, data_dir: 'unused', fetch: { allow: ['127.0.0.0/8'] }, limits: { body_bytes: 8 << 20 },
  routes: [{ path: 'replicate', verifier: 'bearer', tokens: [TOKEN], adapter: 'replicate', policy }, { path: 'token', verifier: 'bearer', tokens: [TOKEN] }],
});

describe('a webhook route configured with a combined best-of policy', { timeout: 60_000 }, () => {
  let scorer: Scorer;
  let images: Awaited<ReturnType<typeof loopback>>;
  const NAMES = ['landscape.jpg', 'portrait.jpg', 'square.png', 'wide.webp'];
  before(async () => {
    scorer = await createScorer({ model: DEMO_MODEL_DIR });
    images = await loopback((req, res) => res.end(readFileSync(join(IMAGES, req.url!.slice(1)))));
  });
  after(async () => {
    await images[Symbol.asyncDispose]();
    await scorer.close();
  });

  it('picks the winner of a Replicate prediction by quality + 20 x clipscore against the prediction\'s prompt', async () => {
    const service = await startService({ config: config({ mode: 'best-of', combine: { method: 'weighted', weights: { quality: 1, clipscore: 20 } } }), scorer, store: new MemoryStore(), log: () => undefined });
    try {
      const r = await postBearer(service.url, 'replicate', { id: 'pred-1', status: 'succeeded', input: { prompt: 'a mountain lake' }, output: NAMES.map((n) => `${images.url}/${n}`) });
      assert.equal(r.status, 200, JSON.stringify(r.json));
      const v = r.json as unknown as WebhookVerdict;
      assert.equal(v.type, 'bestof.selected');
      const combined = new Map(v.candidates.map((c) => [c.id, c.scores!.quality! + 20 * c.scores!.clipscore!]));
      assert.equal(combined.size, 4);
      const best = [...combined].reduce((a, b) => (b[1] > a[1] ? b : a))[0];
      assert.equal(v.winner, best);
      assert.deepEqual(v.passed, [best]);
      assert.deepEqual(v.order, [...combined.keys()].sort((a, b) => combined.get(b)! - combined.get(a)!));
      // The quality-only winner differs on this batch: the combination, not the first head, decided.
      const byQuality = [...v.candidates].sort((a, b) => b.scores!.quality! - a.scores!.quality!)[0]!.id;
      assert.notEqual(byQuality, best, 'a batch on which the two rankings differ');
    } finally {
      await service.close();
    }
  });

  it('gates a job on quality AND clipscore: a candidate sent without a prompt fails the clipscore bar, and its verdict says so', async () => {
    const service = await startService({ config: config({ mode: 'rank' }), scorer, store: new MemoryStore(), log: () => undefined });
    try {
      const candidates = NAMES.map((n, i) => ({ id: n, base64: readFileSync(join(IMAGES, n)).toString('base64'), ...(i === 1 ? {} : { prompt: 'a mountain lake' }) }));
      const r = await postBearer(service.url, 'token', { job_id: 'gate', candidates, policy: { mode: 'reroll-if-none-pass', thresholds: { quality: 0, clipscore: 0 },
        combine: { method: 'lexicographic', heads: ['quality', 'clipscore'] } } });
      assert.equal(r.status, 200, JSON.stringify(r.json));
      const v = r.json as unknown as WebhookVerdict;
      assert.equal(v.type, 'quality.scored', 'some pass: no reroll');
      assert.deepEqual(v.passed, v.order, 'every ranked candidate reaches both bars of 0, best first');
      assert.deepEqual(v.candidates.map((c) => [c.id, c.passed, c.rank, c.reasons]), NAMES.map((n, i) => (i === 1
        ? [n, false, undefined, ['not ranked: no clipscore score (it scores against a prompt, and the candidate had none)']]
        : [n, true, v.order.indexOf(n) + 1, undefined])));
      const gate = await postBearer(service.url, 'token', { job_id: 'gate-2', candidates, policy: { mode: 'filter', thresholds: { quality: 0, clipscore: 0 } } });
      const gated = gate.json as unknown as WebhookVerdict;
      const fails = gated.candidates[1]!;
      assert.deepEqual([fails.passed, fails.rank, fails.reasons], [false, gated.order.indexOf(NAMES[1]!) + 1, ['misses the clipscore bar 0: no clipscore score (it scores against a prompt, and the candidate had none)']]);
    } finally {
      await service.close();
    }
  });

  it('refuses at start-up a route whose combination names a head the model lacks, with the validator\'s message', async () => {
    await assert.rejects(startService({ config: config({ mode: 'best-of', combine: { method: 'lexicographic', heads: ['alignment', 'quality'] } }), scorer, store: new MemoryStore(), log: () => undefined }),
      (e: unknown) => e instanceof ConfigError && e.message.includes('the policy names unknown head(s) alignment; the model has quality, clipscore'));
  });
});
