import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { createScorer, type Scorer } from '@clip-agiqa/core';
import { compileSchema } from '@clip-agiqa/core/internal';
import { MemoryStore, startService, webhookVerdictSchema, type Service, type WebhookVerdict } from '@clip-agiqa/webhook';

import { lowerIsBetterBundle, tempDir } from './support/helpers.js';
import { image, postBearer, TOKEN } from './support/webhook-helpers.js';

const NAMES = ['landscape.jpg', 'portrait.jpg', 'square.png', 'wide.webp'];
const validateVerdict = compileSchema<WebhookVerdict>(webhookVerdictSchema);

describe('webhook verdicts on a lower-is-better head', { timeout: 60_000 }, () => {
  const t = tempDir();
  let scorer: Scorer;
  let service: Service;
  let ascending: string[];
  let score: Map<string, number>;
  const candidates = NAMES.map((n) => ({ id: n, base64: image(n).toString('base64') }));
  const post = async (job_id: string, policy: object): Promise<{ status: number; verdict: WebhookVerdict }> => {
    const r = await postBearer(service.url, 'token', { job_id, candidates, policy });
    if (r.status === 200) assert.ok(validateVerdict(r.json).ok, JSON.stringify(validateVerdict(r.json)));
    return { status: r.status, verdict: r.json as unknown as WebhookVerdict };
  };

  before(async () => {
    scorer = await createScorer({ model: lowerIsBetterBundle(t.dir) });
    service = await startService({ scorer, store: new MemoryStore(), log: () => undefined,
      config: { port: 0, data_dir: t.dir, routes: [{ path: 'token', verifier: 'bearer', tokens: [TOKEN], body_bytes: 8 << 20 }] } });
    const direct = await scorer.score(NAMES.map((n) => ({ id: n, image: image(n) })));
    score = new Map(direct.map((d) => [d.id, 'scores' in d ? d.scores.quality! : NaN] as const));
    ascending = [...NAMES].sort((a, b) => score.get(a)! - score.get(b)!);
  });
  after(async () => {
    await service?.close();
    await scorer?.close();
    t[Symbol.dispose]();
  });

  it('picks the lowest score as the winner, orders ascending and passes what is at or under the bar', async () => {
    assert.equal(scorer.model.heads[0]!.higherIsBetter, false);
    const best = (await post('low-best', { mode: 'best-of' })).verdict;
    assert.deepEqual(best.order, ascending);
    assert.equal(best.winner, ascending[0]);
    const bar = (score.get(ascending[1]!)! + score.get(ascending[2]!)!) / 2;
    const filtered = (await post('low-filter', { mode: 'filter', thresholds: { quality: bar } })).verdict;
    assert.deepEqual(filtered.passed, ascending.slice(0, 2));
    assert.equal(filtered.type, 'quality.rejected');
  });

  it('decides best-of-n, the deprecated spelling, as best-of, and echoes the policy as it was sent', async () => {
    const current = (await post('spell-current', { mode: 'best-of' })).verdict;
    const deprecated = (await post('spell-deprecated', { mode: 'best-of-n' })).verdict;
    for (const v of [current, deprecated]) {
      assert.equal(v.type, 'bestof.selected');
      assert.equal(v.winner, ascending[0]);
      assert.deepEqual(v.passed, [ascending[0]], 'best-of keeps one by default');
      assert.deepEqual(v.order, ascending);
    }
    assert.deepEqual(current.policy, { mode: 'best-of' });
    assert.deepEqual(deprecated.policy, { mode: 'best-of-n' });
    const two = (await post('best-two', { mode: 'best-of', k: 2 })).verdict;
    assert.deepEqual(two.passed, ascending.slice(0, 2));
    assert.deepEqual(two.candidates.filter((c) => c.passed).map((c) => c.id).sort(), ascending.slice(0, 2).sort());
  });

  it('decides gate, the deprecated spelling, as filter; a percentile threshold resolves on the batch', async () => {
    const bar = (score.get(ascending[0]!)! + score.get(ascending[1]!)!) / 2;
    for (const mode of ['filter', 'gate']) {
      const v = (await post(`bar-${mode}`, { mode, threshold: bar })).verdict;
      assert.deepEqual(v.passed, [ascending[0]], mode);
      assert.equal(v.type, 'quality.rejected');
      assert.equal(v.threshold, bar);
    }
    const p = (await post('percentile', { mode: 'filter', threshold: 50, threshold_kind: 'percentile' })).verdict;
    const median = (score.get(ascending[1]!)! + score.get(ascending[2]!)!) / 2;
    assert.ok(Math.abs(p.threshold! - median) < 1e-9, `${p.threshold} vs ${median}`);
    assert.deepEqual(p.passed, ascending.slice(0, 2), 'at or under the median on a lower-is-better head');
  });

  it('scores and ranks pass every scored candidate; thresholds belong to filter and reroll-if-none-pass', async () => {
    for (const mode of ['score', 'rank']) {
      const v = (await post(`all-${mode}`, { mode })).verdict;
      assert.equal(v.type, 'quality.scored');
      assert.deepEqual(v.passed, ascending);
    }
    const reroll = (await post('reroll', { mode: 'reroll-if-none-pass', threshold: score.get(ascending[0]!)! - 1 })).verdict;
    assert.equal(reroll.type, 'reroll.requested');
  });

  it('refuses at acceptance a policy the decision module cannot apply', async () => {
    const r = await post('bad-percentile', { mode: 'filter', threshold: 150, threshold_kind: 'percentile' });
    assert.equal(r.status, 422);
    assert.match(JSON.stringify(r.verdict), /INVALID_POLICY.*a percentile threshold lies within 0-100, got 150/);
    assert.equal((await post('bad-mode', { mode: 'best-of-m' })).status, 422);
    const barless = await post('bar-less', { mode: 'filter' });
    assert.equal(barless.status, 422, 'a filter without a bar is refused, not a pass for every candidate');
    assert.deepEqual(barless.verdict, { error: { code: 'INVALID_POLICY', message: 'mode filter needs a bar: threshold (on the ranking head) or thresholds (per head)' } });
  });
});
