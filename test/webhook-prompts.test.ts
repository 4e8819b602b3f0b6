import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import type { WebhookVerdict } from '@clip-agiqa/webhook';

import { bearerService, image, postBearer } from './support/webhook-helpers.js';

describe('webhook jobs with prompts', () => {
  it('scores each candidate against its own prompt, else the job\'s: the clipscore the API gives', async () => {
    await using running = await bearerService();
    const names = ['landscape.jpg', 'portrait.jpg', 'square.png'];
    const candidates = names.map((n, i) => ({ id: n, base64: image(n).toString('base64'), ...(i === 0 ? { prompt: 'a mountain lake at dawn' } : {}) }));
    const r = await postBearer(running.service.url, 'token', { job_id: 'prompted', prompt: 'a portrait of a woman', candidates, policy: { mode: 'rank' } });
    assert.equal(r.status, 200, JSON.stringify(r.json));
    const verdict = r.json as unknown as WebhookVerdict;
    for (const [i, n] of names.entries()) {
      const expected = await running.scorer.score({ id: n, image: image(n) }, { prompt: i === 0 ? 'a mountain lake at dawn' : 'a portrait of a woman' });
      const got = verdict.candidates.find((c) => c.id === n)!;
      assert.ok('scores' in got && got.scores, JSON.stringify(got));
      assert.equal(got.scores.clipscore, expected.scores.clipscore, n);
    }
    const bare = await postBearer(running.service.url, 'token', { job_id: 'bare', candidates: candidates.slice(1), policy: { mode: 'rank' } });
    assert.equal(bare.status, 200);
    assert.ok((bare.json as unknown as WebhookVerdict).candidates.every((c) => 'scores' in c && c.scores && c.scores.clipscore === undefined));
  });
});
