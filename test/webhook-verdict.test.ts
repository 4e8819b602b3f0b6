import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { createScorer } from '@clip-agiqa/core';
import { MemoryStore, startService, type WebhookVerdict } from '@clip-agiqa/webhook';

import { lowerIsBetterBundle, tempDir } from './support/helpers.js';
import { image, postBearer, TOKEN } from './support/webhook-helpers.js';

const NAMES = ['landscape.jpg', 'portrait.jpg', 'square.png', 'wide.webp'];

describe('webhook verdicts on a lower-is-better head', { timeout: 60_000 }, () => {
  it('picks the lowest score as the winner, orders ascending and passes what is at or under the bar', async () => {
    using t = tempDir();
    const scorer = await createScorer({ model: lowerIsBetterBundle(t.dir) });
    const service = await startService({ scorer, store: new MemoryStore(), log: () => undefined,
      config: { port: 0, data_dir: t.dir, routes: [{ path: 'token', verifier: 'bearer', tokens: [TOKEN], body_bytes: 8 << 20 }] } });
    try {
      assert.equal(scorer.model.heads[0]!.higherIsBetter, false);
      const direct = await scorer.score(NAMES.map((n) => ({ id: n, image: image(n) })));
      const score = new Map(direct.map((d) => [d.id, 'scores' in d ? d.scores.quality! : NaN] as const));
      const ascending = [...NAMES].sort((a, b) => score.get(a)! - score.get(b)!);
      const candidates = NAMES.map((n) => ({ id: n, base64: image(n).toString('base64') }));
      const best = (await postBearer(service.url, 'token', { job_id: 'low-best', candidates, policy: { mode: 'best-of-n' } })).json as unknown as WebhookVerdict;
      assert.deepEqual(best.order, ascending);
      assert.equal(best.winner, ascending[0]);
      const bar = (score.get(ascending[1]!)! + score.get(ascending[2]!)!) / 2;
      const filtered = (await postBearer(service.url, 'token', { job_id: 'low-filter', candidates, policy: { mode: 'filter', thresholds: { quality: bar } } })).json as unknown as WebhookVerdict;
      assert.deepEqual(filtered.passed, ascending.slice(0, 2));
      assert.equal(filtered.type, 'quality.rejected');
    } finally {
      await service.close();
      await scorer.close();
    }
  });
});
