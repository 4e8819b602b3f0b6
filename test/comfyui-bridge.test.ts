import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { createScorer, type Scorer } from '@clip-agiqa/core';
import { percentile } from '@clip-agiqa/core/internal';
import { encodeImageFrame, startBridge, type Bridge, type BridgeResult } from '@clip-agiqa/comfyui';
import sharp from 'sharp';

import { TestClient } from './support/bridge-client.js';
import { DEMO_MODEL_DIR, IMAGES } from './support/helpers.js';

const NAMES = ['landscape.jpg', 'portrait.jpg', 'square.png', 'wide.webp', 'grey.png'];
const file = (n: string) => readFileSync(join(IMAGES, n));

describe('ComfyUI bridge', () => {
  let scorer: Scorer;
  let bridge: Bridge;
  let expected: Map<string, number>;
  before(async () => {
    scorer = await createScorer({ model: DEMO_MODEL_DIR });
    bridge = await startBridge({ scorer, port: 0, token: 'bridge-token', maxImageBytes: 1 << 20, maxPendingImages: 40, log: () => undefined });
    const direct = await scorer.score(NAMES.map((n) => ({ id: n, image: file(n) })));
    expected = new Map(direct.map((d) => [d.id, 'scores' in d ? d.scores.quality! : NaN]));
  });
  after(async () => {
    await bridge.close();
    await scorer.close();
  });

  it('scores encoded and raw RGB images as the scorer does, and decides gates and best-of-k', async () => {
    const c = await TestClient.connect(bridge.url);
    await c.hello('bridge-token');
    const r = await c.score('r1', NAMES.map(file)) as BridgeResult;
    assert.equal(r.type, 'result');
    r.scores.forEach((s, i) => assert.ok(Math.abs(s.scores!.quality! - expected.get(NAMES[i]!)!) < 1e-9));
    const ranked = NAMES.map((_, i) => i).sort((a, b) => expected.get(NAMES[b]!)! - expected.get(NAMES[a]!)!);
    assert.deepEqual(r.decision.order, ranked);

    const raw = await sharp(file('square.png')).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    const rgb = await c.score('r2', [raw.data], { mode: 'score' }, [{ width: raw.info.width, height: raw.info.height }]) as BridgeResult;
    assert.ok(Math.abs(rgb.scores[0]!.scores!.quality! - expected.get('square.png')!) < 1e-6);

    const values = NAMES.map((n) => expected.get(n)!);
    const bar = (values[ranked[1]!]! + values[ranked[2]!]!) / 2;
    for (const mode of ['filter', 'gate']) { // gate: the deprecated spelling, still taken
      const filtered = await c.score(`g1-${mode}`, NAMES.map(file), { mode, threshold: bar }) as BridgeResult;
      assert.deepEqual(filtered.decision.passed, [ranked[0]!, ranked[1]!].sort(), mode);
      assert.equal(filtered.decision.threshold, bar);
    }
    const byPercentile = await c.score('g2', NAMES.map(file), { mode: 'filter', threshold: 50, threshold_kind: 'percentile' }) as BridgeResult;
    assert.ok(Math.abs(byPercentile.decision.threshold! - percentile(values, 50)) < 1e-12);
    assert.equal(byPercentile.decision.passed.length, 3);
    const best = await c.score('b1', NAMES.map(file), { mode: 'best-of', k: 2 }) as BridgeResult;
    assert.deepEqual(best.decision.passed, ranked.slice(0, 2));
    assert.deepEqual(best.decision.rejected, ranked.slice(2).sort());
    const one = await c.score('b2', NAMES.map(file), { mode: 'best-of' }) as BridgeResult;
    assert.deepEqual(one.decision.passed, ranked.slice(0, 1), 'best-of without k keeps one, as the webhook service does');
    c.close();
  });

  it('serves several clients at once, each its own answers', async () => {
    const clients = await Promise.all(Array.from({ length: 5 }, () => TestClient.connect(bridge.url)));
    await Promise.all(clients.map((c) => c.hello('bridge-token')));
    const results = await Promise.all(clients.map((c, k) => c.score(`c${k}`, [file(NAMES[k]!), file(NAMES[(k + 1) % 5]!)])));
    results.forEach((r, k) => {
      const res = r as BridgeResult;
      assert.equal(res.id, `c${k}`);
      assert.ok(Math.abs(res.scores[0]!.scores!.quality! - expected.get(NAMES[k]!)!) < 1e-9);
      assert.ok(Math.abs(res.scores[1]!.scores!.quality! - expected.get(NAMES[(k + 1) % 5]!)!) < 1e-9);
    });
    clients.forEach((c) => c.close());
  });

  it('answers bad messages with typed errors and keeps the connection and other requests alive', async () => {
    const c = await TestClient.connect(bridge.url);
    c.send({ type: 'score', id: 'early', policy: { mode: 'score' }, images: [{ format: 'encoded' }] });
    assert.equal((await c.nextError()).code, 'NOT_AUTHENTICATED');
    await c.hello('bridge-token');
    c.ws.send('{not json');
    assert.equal((await c.nextError()).code, 'MALFORMED_MESSAGE');
    c.send({ type: 'score', id: 'x', policy: { mode: 'sideways' }, images: [] }, false);
    assert.equal((await c.nextError()).code, 'SCHEMA_VIOLATION');
    c.ws.send(Buffer.from([0, 0]));
    assert.equal((await c.nextError()).code, 'BAD_FRAME');
    c.ws.send(encodeImageFrame('nobody', 0, file('square.png')));
    assert.equal((await c.nextError()).code, 'UNKNOWN_REQUEST');
    c.send({ type: 'score', id: 'h', policy: { mode: 'score', head: 'beauty' }, images: [{ format: 'encoded' }] });
    assert.deepEqual(await c.nextError(), { type: 'error', id: 'h', code: 'UNKNOWN_HEAD', message: 'the policy names unknown head(s) beauty; the model has quality, clipscore' });
    const big = await c.score('big', [Buffer.alloc((1 << 20) + 1)]);
    assert.equal(big.type === 'error' && big.code, 'IMAGE_TOO_LARGE');
    const junk = await c.score('junk', [Buffer.from('not an image at all'), file('square.png')]) as BridgeResult;
    assert.equal(junk.scores[0]!.error!.code, 'UNSUPPORTED_FORMAT');
    assert.deepEqual(junk.decision.rejected, [0]);
    const short = await c.score('short', [Buffer.alloc(10)], { mode: 'score' }, [{ width: 4, height: 4 }]) as BridgeResult;
    assert.equal(short.scores[0]!.error!.code, 'INVALID_PIXELS');
    const fine = await c.score('fine', [file('square.png')]);
    assert.equal(fine.type, 'result');
    c.close();
  });

  it('sheds load with busy, forgets a client that leaves mid-request, and drops peers that stop answering pings', async () => {
    const a = await TestClient.connect(bridge.url);
    await a.hello('bridge-token');
    a.send({ type: 'score', id: 'half', policy: { mode: 'score' }, images: Array.from({ length: 30 }, () => ({ format: 'encoded' })) });
    a.ws.send(encodeImageFrame('half', 0, file('square.png')));
    const b = await TestClient.connect(bridge.url);
    await b.hello('bridge-token');
    const busy = await b.score('too-many', Array.from({ length: 20 }, () => file('square.png')));
    assert.equal(busy.type, 'busy');
    a.ws.terminate(); // leaves with 29 images still to send
    const deadline = Date.now() + 5000;
    let health = { pending_images: -1 };
    while (Date.now() < deadline) {
      health = await (await fetch(`http://127.0.0.1:${bridge.port}/healthz`)).json() as typeof health;
      if (health.pending_images === 0) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(health.pending_images, 0, 'the departed client\'s request was dropped');
    assert.equal((await b.score('now-fits', Array.from({ length: 20 }, () => file('square.png')))).type, 'result');
    b.close();

    const quick = await startBridge({ scorer, port: 0, heartbeatMs: 100, log: () => undefined });
    try {
      const silent = await TestClient.connect(quick.url, { autoPong: false });
      const started = Date.now();
      while (!silent.closed && Date.now() - started < 3000) await new Promise((r) => setTimeout(r, 20));
      assert.ok(silent.closed, 'a peer that never answers pings is dropped');
    } finally {
      await quick.close();
    }
  });

  it('refuses wrong tokens and protocols, and closes clients cleanly on shutdown; a restarted bridge serves again', async () => {
    const wrong = await TestClient.connect(bridge.url);
    wrong.send({ type: 'hello', protocol: 1, client: 'test', token: 'nope' });
    assert.equal((await wrong.nextError()).code, 'UNAUTHORIZED');
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(wrong.closed?.code, 4001);
    const future = await TestClient.connect(bridge.url);
    future.send({ type: 'hello', protocol: 2, client: 'test' }, false);
    assert.equal((await future.nextError()).code, 'UNSUPPORTED_PROTOCOL');

    const own = await startBridge({ scorer, port: 0, log: () => undefined });
    const port = own.port;
    const c = await TestClient.connect(own.url);
    await c.hello();
    await own.close();
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(c.closed?.code, 1001);
    const again = await startBridge({ scorer, port, log: () => undefined });
    try {
      const d = await TestClient.connect(again.url);
      await d.hello();
      assert.equal((await d.score('after-restart', [file('square.png')])).type, 'result');
      d.close();
    } finally {
      await again.close();
    }
  });
});
