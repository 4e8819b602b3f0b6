import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import {
  bestOfN, ComfyClient, ComfyConnectionError, ComfyExecutionError, ComfyPool, ComfyValidationError, comfyImageFrame, parseComfyFrame, reconnectDelays, rerollUntil,
  type ComfyEvent, type ImageScorer, type Seed, type Workflow,
} from '@clip-agiqa/comfyui';
import { createScorer, type Scorer } from '@clip-agiqa/core';

import { ComfySimulator } from './support/comfyui-simulator.js';

const colourWorkflow = (output = 'SaveImageWebsocket'): Workflow => ({
  1: { class_type: 'EmptyImage', inputs: { width: 64, height: 48, batch_size: 1, color: 0 } },
  2: { class_type: 'ImageInvert', inputs: { image: ['1', 0] } },
  3: output === 'SaveImage' ? { class_type: 'SaveImage', inputs: { images: ['2', 0], filename_prefix: 'runs/candidate' } }
    : { class_type: output, inputs: { images: ['2', 0] } },
});
const SEEDS = [0x102030, 0xff8000, 0x00ff00, 0x123456, 0xabcdef, 0x808080, 0xfedcba, 0x0000ff];

describe('ComfyUI workflow runner (against the protocol simulator)', () => {
  let scorer: Scorer;
  let score: ImageScorer;
  let sim: ComfySimulator;
  const clients: ComfyClient[] = [];
  const client = (url: string, o: ConstructorParameters<typeof ComfyClient>[1] = {}) => {
    const c = new ComfyClient(url, { reconnect: { baseMs: 50, capMs: 200 }, ...o });
    clients.push(c);
    return c;
  };
  before(async () => {
    scorer = await createScorer({ model: '' + (await import('@clip-agiqa/core')).DEMO_MODEL_DIR });
    score = async (images) => (await scorer.score(images)).map((o) => ('scores' in o ? o.scores.quality! : NaN));
    sim = await ComfySimulator.start();
  });
  after(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await sim.stop();
    await scorer.close();
  });

  it('best-of-8 returns the true best by score, every candidate ranked, from websocket image frames', async () => {
    const events: string[] = [];
    const c = client(sim.url, { onEvent: (e: ComfyEvent) => void events.push(e.type) });
    const connectionsBefore = sim.connections;
    const result = await bestOfN({ runner: c, workflow: colourWorkflow(), n: 8, seedNodes: ['1.color'], seeds: SEEDS, score });
    assert.equal(result.ranked.length, 8);
    assert.deepEqual(new Set(result.ranked.map((r) => r.seed)), new Set(SEEDS));
    const independent = await score(result.ranked.map((r) => r.image.bytes));
    result.ranked.forEach((r, i) => assert.equal(r.score, independent[i]));
    for (let i = 1; i < 8; i++) assert.ok(result.ranked[i - 1]!.score >= result.ranked[i]!.score);
    assert.equal(result.winner, result.ranked[0]);
    assert.equal(result.winner!.image.nodeId, '3', 'images are attributed to their node from the frame metadata');
    assert.equal(sim.connections - connectionsBefore, 1, 'eight concurrent runs share one websocket (ComfyUI keeps one per client id)');
    for (const type of ['status', 'execution_start', 'execution_cached', 'executing', 'progress', 'execution_success']) assert.ok(events.includes(type), type);
  });

  it('reroll stops at the first passing attempt and never exceeds maxAttempts', async () => {
    const c = client(sim.url);
    const scores = (await bestOfN({ runner: c, workflow: colourWorkflow(), n: 4, seedNodes: ['1.color'], seeds: SEEDS.slice(0, 4), score }))
      .ranked.reduce((m, r) => m.set(r.seed, r.score), new Map<Seed, number>());
    // Seeds in an order whose first score reaching the bar is the third: the two worst, the best, the other.
    const byScore = SEEDS.slice(0, 4).sort((a, b) => scores.get(a)! - scores.get(b)!);
    assert.ok(new Set(scores.values()).size === 4, 'distinct scores');
    const order = [byScore[0]!, byScore[1]!, byScore[3]!, byScore[2]!];
    const r = await rerollUntil({ runner: c, workflow: colourWorkflow(), seedNodes: ['1.color'], seeds: order, score, threshold: scores.get(byScore[3]!)!, maxAttempts: 4 });
    assert.equal(r.passed, true);
    assert.equal(r.attempts.length, 3);
    assert.equal(r.best!.seed, byScore[3]);
    const never = await rerollUntil({ runner: c, workflow: colourWorkflow(), seedNodes: ['1.color'], seeds: SEEDS, score, threshold: 1e9, maxAttempts: 3 });
    assert.equal(never.passed, false);
    assert.equal(never.attempts.length, 3);
    assert.equal(never.best!.score, Math.max(...never.attempts.map((a) => a.candidates[0]!.score)), 'keeps the best attempt');
  });

  it('collects SaveImage outputs through /history and /view', async () => {
    const run = await client(sim.url).run(colourWorkflow('SaveImage'));
    assert.equal(run.images.length, 1);
    assert.equal(run.images[0]!.file?.subfolder, 'runs');
    assert.equal(run.images[0]!.bytes.subarray(1, 4).toString(), 'PNG');
    assert.deepEqual(Object.keys(run.outputs), ['3']);
  });

  it('reports validation errors with node errors, and execution errors with the node and message', async () => {
    const c = client(sim.url);
    const broken = colourWorkflow();
    delete broken['1']!.inputs.width;
    await assert.rejects(c.run(broken), (e: unknown) => e instanceof ComfyValidationError
      && Object.keys(e.nodeErrors).includes('1') && /Required input is missing/.test(e.message));
    await assert.rejects(c.run({ ...colourWorkflow(), 9: { class_type: 'NoSuchNode', inputs: {} } }), /NoSuchNode does not exist/);
    await assert.rejects(c.run({ 1: { class_type: 'EmptyImage', inputs: { width: 8, height: 8, batch_size: 1, color: 0 } } }), /has no outputs/i);
    await c.uploadImage(Buffer.from('this is text, not a PNG'), 'broken.png');
    await assert.rejects(c.run({ 1: { class_type: 'LoadImage', inputs: { image: 'broken.png' } }, 2: { class_type: 'SaveImageWebsocket', inputs: { images: ['1', 0] } } }),
      (e: unknown) => e instanceof ComfyExecutionError && e.nodeId === '1' && e.nodeType === 'LoadImage' && /UnidentifiedImageError/.test(e.message));
  });

  it('interrupts a running prompt', async () => {
    const slow = await ComfySimulator.start({ nodeDelayMs: 200 });
    try {
      const c = client(slow.url);
      const running = c.run(colourWorkflow());
      await new Promise((r) => setTimeout(r, 100));
      await c.interrupt();
      await assert.rejects(running, (e: unknown) => e instanceof ComfyExecutionError && e.interrupted);
    } finally {
      await slow.stop();
    }
  });

  it('survives a server restart mid-run: reconnects, re-syncs with /history and queues the lost prompt again', async () => {
    const flaky = await ComfySimulator.start({ nodeDelayMs: 150 });
    try {
      const c = client(flaky.url);
      const running = c.run(colourWorkflow());
      await new Promise((r) => setTimeout(r, 200));
      await flaky.restart(); // a real restart loses the queue and the history
      const run = await running;
      assert.equal(run.resubmitted, 1);
      assert.equal(run.images.length, 1);
    } finally {
      await flaky.stop();
    }
  });

  it('detects a dead connection itself (ComfyUI sends no heartbeat) and finishes the run from /history', async () => {
    const hung = await ComfySimulator.start({ nodeDelayMs: 100 });
    try {
      const c = client(hung.url, { heartbeatMs: 100 });
      const running = c.run(colourWorkflow('SaveImage'));
      await new Promise((r) => setTimeout(r, 50));
      hung.freezeSockets();
      const run = await running;
      assert.equal(run.images.length, 1, 'the image came from /history + /view after the reconnect');
    } finally {
      await hung.stop();
    }
  });

  it('reads type-1 frames from servers without preview metadata, and text frames', async () => {
    const old = await ComfySimulator.start({ noFeatureFlags: true });
    try {
      const run = await client(old.url).run(colourWorkflow());
      assert.equal(run.images.length, 1);
      assert.equal(run.images[0]!.nodeId, '3', 'attributed to the node executing at the time');
    } finally {
      await old.stop();
    }
    const text = Buffer.concat([Buffer.from([0, 0, 0, 3, 0, 0, 0, 1]), Buffer.from('7width: 64')]);
    assert.deepEqual(parseComfyFrame(text), { kind: 'text', nodeId: '7', text: 'width: 64' });
    const jpeg = parseComfyFrame(comfyImageFrame(Buffer.from([0xff, 0xd8, 0xff]), 'image/jpeg'));
    assert.equal(jpeg?.kind === 'image' && jpeg.mime, 'image/jpeg');
    assert.equal(parseComfyFrame(Buffer.from([0, 0, 0, 9, 0, 0, 0, 0])), null);
  });

  it('dispatches to the least busy server of a pool', async () => {
    const busy = await ComfySimulator.start({ nodeDelayMs: 300 });
    const idle = await ComfySimulator.start();
    try {
      const busyClient = client(busy.url);
      const backlog = [busyClient.run(colourWorkflow()), busyClient.run(colourWorkflow())];
      await new Promise((r) => setTimeout(r, 50));
      const pool = new ComfyPool([client(busy.url), client(idle.url)]);
      assert.equal((await pool.pick()).baseUrl, idle.url);
      const result = await bestOfN({ runner: pool, workflow: colourWorkflow(), n: 2, seedNodes: ['1.color'], seeds: SEEDS.slice(0, 2), score });
      assert.equal(result.ranked.length, 2);
      await Promise.all(backlog);
    } finally {
      await busy.stop();
      await idle.stop();
    }
  });

  it('re-dispatches the prompts of a pool server that died to a live one: best-of-N still gets every candidate', async () => {
    const dying = await ComfySimulator.start({ nodeDelayMs: 400 });
    const live = await ComfySimulator.start({ nodeDelayMs: 20 });
    try {
      const moved: string[] = [];
      const gone = { reconnect: { timeoutMs: 600, baseMs: 50, capMs: 200 } };
      const pool = new ComfyPool([client(dying.url, gone), client(live.url)], { onRedispatch: (from) => moved.push(from.baseUrl) });
      const running = bestOfN({ runner: pool, workflow: colourWorkflow(), n: 4, seedNodes: ['1.color'], seeds: SEEDS.slice(0, 4), score });
      await new Promise((r) => setTimeout(r, 150));
      await dying.stop(); // the machine is gone for good: no restart
      const result = await running;
      assert.equal(result.ranked.length, 4, 'every variation produced and scored');
      assert.deepEqual(new Set(result.ranked.map((c) => c.seed)), new Set(SEEDS.slice(0, 4)));
      assert.ok(moved.length >= 1 && moved.every((u) => u === dying.url), `moved off ${moved.join(', ')}`);
      await assert.rejects(new ComfyPool([client(dying.url, gone)]).run(colourWorkflow()), ComfyConnectionError);
      await assert.rejects(new ComfyPool([client(live.url)]).run({ 1: { class_type: 'NoSuchNode', inputs: {} } }), ComfyValidationError, 'a workflow error is not retried elsewhere');
    } finally {
      await live.stop();
    }
  });

  /** Rejects if the promise has not settled within ms (a hang is a failure, not a stuck test). */
  const within = <T>(p: Promise<T>, ms: number) => Promise.race([p, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`still waiting after ${ms} ms`)), ms).unref())]);

  it('the default reconnect policy rides out a ComfyUI that takes 30 s to restart', async () => {
    const slow = await ComfySimulator.start({ nodeDelayMs: 150 });
    try {
      const c = new ComfyClient(slow.url); // default policy, as the CLI uses it
      clients.push(c);
      const running = c.run(colourWorkflow());
      await new Promise((r) => setTimeout(r, 200));
      const started = performance.now();
      await slow.restart(false, 30_000);
      const run = await within(running, 30_000);
      assert.ok(performance.now() - started >= 30_000);
      assert.equal(run.resubmitted, 1);
      assert.equal(run.images.length, 1);
    } finally {
      await slow.stop();
    }
  });

  it('the reconnect window is configurable and its exhaustion says what to change', async () => {
    const delays = reconnectDelays();
    assert.ok(delays.reduce((a, b) => a + b, 0) <= 120_000 && delays.reduce((a, b) => a + b, 0) > 110_000, 'about 120 s by default');
    assert.equal(Math.max(...delays), 5000, 'backoff capped at 5 s');
    assert.deepEqual(reconnectDelays({ timeoutMs: 1000, baseMs: 100, capMs: 300 }), [100, 200, 300, 300]);
    const down = await ComfySimulator.start({ nodeDelayMs: 150 });
    try {
      const c = client(down.url, { reconnect: { timeoutMs: 400, baseMs: 50, capMs: 100 } });
      const running = c.run(colourWorkflow());
      await new Promise((r) => setTimeout(r, 100));
      const restart = down.restart(false, 1500);
      await assert.rejects(within(running, 1400), (e: unknown) => e instanceof ComfyConnectionError && /could not reconnect within 0\.\d s \(raise the reconnect timeout/.test(e.message));
      await restart;
    } finally {
      await down.stop();
    }
  });

  it('a run that starts after the reconnection gave up says the server was lost and why, not a bare refusal', async () => {
    const dying = await ComfySimulator.start({ nodeDelayMs: 20 });
    const c = client(dying.url, { reconnect: { timeoutMs: 300, baseMs: 50, capMs: 100 } });
    await c.run(colourWorkflow());
    const gone = dying.stop();
    await gone;
    // Long enough for the reconnection to give up before the next run asks for the socket.
    await new Promise((r) => setTimeout(r, 800));
    const error = await c.run(colourWorkflow()).then(() => null, (e: unknown) => e as Error);
    assert.ok(error instanceof ComfyConnectionError, `a ComfyConnectionError, got ${String(error)}`);
    assert.match(error.message, /^lost ComfyUI at .* and could not reconnect within/);
  });

  it('gives up on a frozen ComfyUI (connections accepted, nothing answered) within the reconnect window', async () => {
    const frozen = await ComfySimulator.start({ nodeDelayMs: 100 });
    try {
      const c = client(frozen.url, { heartbeatMs: 100, requestTimeoutMs: 300, reconnect: { timeoutMs: 800, baseMs: 50, capMs: 200, handshakeMs: 200 } });
      const running = c.run(colourWorkflow());
      await new Promise((r) => setTimeout(r, 50));
      frozen.freeze();
      await assert.rejects(within(running, 5000), (e: unknown) => e instanceof ComfyConnectionError && /could not reconnect/.test(e.message));
    } finally {
      frozen.thaw();
      await frozen.stop();
    }
  });

  it('a stall watchdog fails a prompt whose server answers pings but sends nothing (a hung node), and names the node', async () => {
    const stuck = await ComfySimulator.start({ nodeDelayMs: 50 });
    try {
      const c = client(stuck.url, { heartbeatMs: 100, stallTimeoutMs: 600 });
      stuck.hang();
      const started = performance.now();
      await assert.rejects(within(c.run(colourWorkflow()), 5000), (e: unknown) => e instanceof ComfyConnectionError && /sent nothing for \d+ s while running prompt .* at node 1 \(EmptyImage\): it looks frozen/.test(e.message));
      assert.ok(performance.now() - started >= 600);
    } finally {
      stuck.thaw();
      await stuck.stop();
    }
  });

  it('recovers SaveImageWebsocket images lost while the websocket was down by re-running only the lost output', async () => {
    const reference = await client(sim.url).run(colourWorkflow());
    sim.websocketDrops = 1;
    const run = await client(sim.url).run(colourWorkflow());
    assert.deepEqual(run.recovered, { method: 'rerun', nodes: ['3'] });
    assert.equal(run.images.length, 1);
    assert.equal(run.images[0]!.nodeId, '3');
    assert.ok(run.images[0]!.bytes.equals(reference.images[0]!.bytes), 'the same inputs give the same image');
    assert.equal(run.resubmitted, 0, 'no attempt spent on the transport failure');
  });

  it('falls back to the previews ComfyUI recorded when the re-run is lost too, and fails clearly when there are none', async () => {
    const withPreview: Workflow = { ...colourWorkflow(), 4: { class_type: 'PreviewImage', inputs: { images: ['2', 0] } } };
    sim.websocketDrops = 2;
    const run = await client(sim.url).run(withPreview);
    assert.deepEqual(run.recovered, { method: 'history', nodes: ['3'] });
    assert.deepEqual(run.images.map((im) => [im.nodeId, im.file?.type]), [['4', 'temp']]);
    sim.websocketDrops = 2;
    await assert.rejects(client(sim.url).run(colourWorkflow()), (e: unknown) => e instanceof ComfyConnectionError && /images of websocket output node\(s\) 3 were lost/.test(e.message));
    sim.websocketDrops = 0;
  });
});
