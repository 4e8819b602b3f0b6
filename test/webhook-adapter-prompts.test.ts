import assert from 'node:assert/strict';
import { generateKeyPairSync, sign as edSign } from 'node:crypto';
import { after, before, describe, it } from 'node:test';

import { createScorer, type Scorer } from '@clip-agiqa/core';
import { MemoryStore, startService, type Service, type WebhookVerdict } from '@clip-agiqa/webhook';
import { falMessage } from '@clip-agiqa/webhook/internal';

import { DEMO_MODEL_DIR } from './support/helpers.js';
import { TOKEN, image, loopback, postBearer } from './support/webhook-helpers.js';

const falKeys = generateKeyPairSync('ed25519');

describe('platform payloads with prompts', () => {
  let scorer: Scorer;
  let service: Service;
  let images: Awaited<ReturnType<typeof loopback>>;
  before(async () => {
    scorer = await createScorer({ model: DEMO_MODEL_DIR });
    images = await loopback((req, res) => res.end(image(req.url!.slice(1))));
    service = await startService({
      scorer, store: new MemoryStore(), log: () => undefined,
      config: {
        port: 0, data_dir: 'unused',
        routes: [
          { path: 'token', verifier: 'bearer', tokens: [TOKEN] },
          { path: 'replicate', verifier: 'bearer', tokens: [TOKEN], adapter: 'replicate', policy: { mode: 'best-of', head: 'clipscore' } },
          { path: 'fal', verifier: 'fal', public_keys: [falKeys.publicKey.export({ format: 'jwk' }).x!], adapter: 'fal', policy: { mode: 'rank' } },
        ],
        fetch: { allow: ['127.0.0.0/8'], max_bytes: 4 << 20 },
      },
    });
  });
  after(async () => {
    await service.close();
    await scorer.close();
    await images[Symbol.asyncDispose]();
  });

  /** What the scorer gives each named image against its prompt. */
  const clipscores = async (names: string[], prompts: string[]) =>
    (await scorer.score(names.map((n, i) => ({ image: image(n), prompt: prompts[i]! })))).map((o) => ('scores' in o ? o.scores.clipscore! : NaN));

  it('scores a Replicate prediction\'s outputs against its input.prompt, and picks the best by clipscore', async () => {
    const names = ['portrait.jpg', 'wide.webp', 'landscape.jpg'];
    const r = await postBearer(service.url, 'replicate', { id: 'pred-p', status: 'succeeded', input: { prompt: 'a mountain lake at dawn', seed: 3 },
      output: names.map((n) => `${images.url}/${n}`) });
    assert.equal(r.status, 200, JSON.stringify(r.json));
    const verdict = r.json as unknown as WebhookVerdict;
    const expected = await clipscores(names, names.map(() => 'a mountain lake at dawn'));
    names.forEach((_, i) => {
      const got = verdict.candidates.find((c) => c.id === `pred-p-${i}`)!;
      assert.equal(got.scores?.clipscore, expected[i], `pred-p-${i}`);
      assert.equal(typeof got.scores?.quality, 'number');
    });
    const best = expected.indexOf(Math.max(...expected));
    assert.equal(verdict.winner, `pred-p-${best}`);
  });

  it('scores a fal result\'s images against its payload.prompt', async () => {
    const names = ['landscape.jpg', 'square.png'];
    const body = JSON.stringify({ request_id: 'fal-p', status: 'OK', payload: { prompt: 'a red square on white', images: names.map((n) => ({ url: `${images.url}/${n}` })) } });
    const ts = String(Math.floor(Date.now() / 1000));
    const r = await fetch(`${service.url}/hooks/fal`, { method: 'POST', body, headers: {
      'content-type': 'application/json', 'x-fal-webhook-request-id': 'fal-p', 'x-fal-webhook-user-id': 'user-1', 'x-fal-webhook-timestamp': ts,
      'x-fal-webhook-signature': edSign(null, falMessage('fal-p', 'user-1', ts, body), falKeys.privateKey).toString('hex'),
    } });
    assert.equal(r.status, 200);
    const verdict = await r.json() as WebhookVerdict;
    const expected = await clipscores(names, names.map(() => 'a red square on white'));
    names.forEach((_, i) => assert.equal(verdict.candidates.find((c) => c.id === `fal-p-${i}`)!.scores?.clipscore, expected[i]));
  });

  it('scores a prediction without a prompt on quality alone', async () => {
    const r = await postBearer(service.url, 'replicate', { id: 'pred-bare', status: 'succeeded', output: `${images.url}/portrait.jpg` });
    assert.equal(r.status, 200, JSON.stringify(r.json));
    const [candidate] = (r.json as unknown as WebhookVerdict).candidates;
    assert.equal(candidate?.scores?.clipscore, undefined);
    assert.equal(typeof candidate?.scores?.quality, 'number');
  });

  it('gives a fetched candidate\'s own prompt precedence over the job\'s', async () => {
    const names = ['portrait.jpg', 'landscape.jpg'];
    const r = await postBearer(service.url, 'token', { job_id: 'own-prompt', prompt: 'a portrait of a woman', policy: { mode: 'rank' },
      candidates: [{ id: 'a', url: `${images.url}/${names[0]}` }, { id: 'b', url: `${images.url}/${names[1]}`, prompt: 'a mountain lake at dawn' }] });
    assert.equal(r.status, 200, JSON.stringify(r.json));
    const verdict = r.json as unknown as WebhookVerdict;
    const expected = await clipscores(names, ['a portrait of a woman', 'a mountain lake at dawn']);
    assert.equal(verdict.candidates.find((c) => c.id === 'a')!.scores?.clipscore, expected[0]);
    assert.equal(verdict.candidates.find((c) => c.id === 'b')!.scores?.clipscore, expected[1]);
    const [asJob] = await clipscores([names[1]!], ['a portrait of a woman']);
    assert.notEqual(expected[1], asJob, 'the two prompts score the image differently, so the test tells them apart');
  });
});
