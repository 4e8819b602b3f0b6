import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { createScorer, type Scorer } from '@clip-agiqa/core';
import { startBridge, type Bridge, type BridgeResult } from '@clip-agiqa/comfyui';

import { TestClient } from './support/bridge-client.js';
import { DEMO_MODEL_DIR, IMAGES } from './support/helpers.js';

const NAMES = ['landscape.jpg', 'portrait.jpg', 'square.png'];
const file = (n: string) => readFileSync(join(IMAGES, n));

describe('ComfyUI bridge with prompts', () => {
  let scorer: Scorer;
  let bridge: Bridge;
  let c: TestClient;
  before(async () => {
    scorer = await createScorer({ model: DEMO_MODEL_DIR });
    bridge = await startBridge({ scorer, port: 0, log: () => undefined });
    c = await TestClient.connect(bridge.url);
    await c.hello();
  });
  after(async () => {
    c.close();
    await bridge.close();
    await scorer.close();
  });

  const clipscores = async (prompts: string[]) =>
    (await scorer.score(NAMES.map((n, i) => ({ id: n, image: file(n), prompt: prompts[i]! })))).map((o) => ('scores' in o ? o.scores.clipscore! : NaN));

  it('scores the request\'s prompt with the prompt heads, as the scorer does; without one, quality only', async () => {
    const r = await c.score('p1', NAMES.map(file), { mode: 'score' }, undefined, { prompt: 'a mountain lake at dawn' }) as BridgeResult;
    assert.equal(r.type, 'result', JSON.stringify(r));
    const expected = await clipscores(NAMES.map(() => 'a mountain lake at dawn'));
    r.scores.forEach((s, i) => {
      assert.equal(s.scores!.clipscore, expected[i], NAMES[i]);
      assert.equal(typeof s.scores!.quality, 'number');
    });
    const bare = await c.score('p2', NAMES.map(file)) as BridgeResult;
    assert.ok(bare.scores.every((s) => s.scores!.clipscore === undefined && typeof s.scores!.quality === 'number'), JSON.stringify(bare.scores));
    const blank = await c.score('p3', NAMES.map(file), { mode: 'score' }, undefined, { prompt: '   ' }) as BridgeResult;
    assert.ok(blank.scores.every((s) => s.scores!.clipscore === undefined), 'a blank prompt is no prompt');
  });

  it('gives an image\'s own prompt precedence over the request\'s, and decides best-of on clipscore', async () => {
    const own = ['a portrait of a woman', undefined, 'a red square'];
    const r = await c.score('p4', NAMES.map(file), { mode: 'best-of', k: 2, head: 'clipscore' }, undefined, { prompt: 'a mountain lake at dawn', images: own }) as BridgeResult;
    assert.equal(r.type, 'result', JSON.stringify(r));
    const expected = await clipscores(own.map((p) => p ?? 'a mountain lake at dawn'));
    r.scores.forEach((s, i) => assert.equal(s.scores!.clipscore, expected[i], NAMES[i]));
    const ranked = [0, 1, 2].sort((a, b) => expected[b]! - expected[a]!);
    assert.equal(r.decision.head, 'clipscore');
    assert.deepEqual(r.decision.passed, ranked.slice(0, 2));
  });

  it('fails each image without a prompt when the deciding head needs one, naming why', async () => {
    const r = await c.score('p5', NAMES.map(file), { mode: 'best-of', head: 'clipscore' }, undefined, { images: ['a lake', undefined, undefined] }) as BridgeResult;
    assert.equal(r.type, 'result', JSON.stringify(r));
    assert.equal(typeof r.scores[0]!.scores!.clipscore, 'number');
    for (const s of r.scores.slice(1)) {
      assert.equal(s.error?.code, 'PROMPT_REQUIRED', JSON.stringify(s));
      assert.match(s.error.message, /clipscore/);
    }
    assert.deepEqual(r.decision.passed, [0]);
  });

  it('refuses a prompt that is not a string with a typed schema error, and keeps serving', async () => {
    for (const [id, request] of [
      ['bad1', { prompt: 42, images: [{ format: 'encoded' }] }],
      ['bad2', { images: [{ format: 'encoded', prompt: ['a', 'b'] }] }],
      ['bad3', { prompt: 'x'.repeat(10_001), images: [{ format: 'encoded' }] }],
    ] as const) {
      c.send({ type: 'score', id, policy: { mode: 'score' }, ...request }, false);
      const e = await c.nextError();
      assert.equal(e.code, 'SCHEMA_VIOLATION', id);
      assert.equal(e.id, id);
      assert.match(e.message, /prompt/, id);
    }
    const ok = await c.score('after', [file(NAMES[0]!)], { mode: 'score' }, undefined, { prompt: 'a lake' }) as BridgeResult;
    assert.equal(typeof ok.scores[0]!.scores!.clipscore, 'number');
  });
});
