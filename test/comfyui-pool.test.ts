import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';

import { bestOfN, ComfyClient, ComfyConnectionError, ComfyPool, type ImageScorer, type Workflow } from '@clip-agiqa/comfyui';

import { closedPort } from './support/helpers.js';
import { ComfySimulator } from './support/comfyui-simulator.js';

const workflow: Workflow = {
  1: { class_type: 'EmptyImage', inputs: { width: 32, height: 32, batch_size: 1, color: 0 } },
  2: { class_type: 'SaveImageWebsocket', inputs: { images: ['1', 0] } },
};
const SEEDS = [0x102030, 0xff8000, 0x00ff00, 0x123456, 0xabcdef, 0x808080, 0xfedcba, 0x0000ff];
// The pool is under test, not the model: an image's size stands in for its score.
const score: ImageScorer = async (images) => images.map((im) => im.length);

describe('a pool of ComfyUI servers that degrades instead of failing', () => {
  const clients: ComfyClient[] = [];
  const sims: ComfySimulator[] = [];
  const pools: ComfyPool[] = [];
  // Default reconnect window (120 s), as the CLI uses it: failover must not wait for it.
  const client = (url: string) => {
    const c = new ComfyClient(url);
    clients.push(c);
    return c;
  };
  const sim = async (o: Parameters<typeof ComfySimulator.start>[0] = {}, port = 0) => {
    const s = await ComfySimulator.start(o, port);
    sims.push(s);
    return s;
  };
  const pool = (cs: ComfyClient[], o: ConstructorParameters<typeof ComfyPool>[1] = {}) => {
    const p = new ComfyPool(cs, o);
    pools.push(p);
    return p;
  };
  after(async () => {
    for (const p of pools) p.close();
    await Promise.all(clients.map((c) => c.close()));
    await Promise.all(sims.map((s) => s.stop().catch(() => undefined)));
  });

  it('starts with the servers that answer, names the dead one once, runs best-of-N to completion, and takes the dead one in once it answers', async () => {
    const deadPort = await closedPort();
    const live = await sim();
    const changes: string[] = [];
    const p = pool([client(`http://127.0.0.1:${deadPort}`), client(live.url)], { probeMs: 100, onHostChange: (c, up) => changes.push(`${up ? 'up' : 'down'} ${c.baseUrl}`) });
    assert.deepEqual((await p.start()).map((c) => c.baseUrl), [live.url]);
    const result = await bestOfN({ runner: p, workflow, n: 4, seedNodes: ['1.color'], seeds: SEEDS.slice(0, 4), score });
    assert.equal(result.ranked.length, 4);
    assert.equal(live.queued.size, 4);
    assert.deepEqual(changes, [`down http://127.0.0.1:${deadPort}`], 'named once, however many prompts ran');

    const revived = await sim({ nodeDelayMs: 5 }, deadPort);
    const deadline = Date.now() + 5000;
    while (!changes.includes(`up http://127.0.0.1:${deadPort}`) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.ok(changes.includes(`up http://127.0.0.1:${deadPort}`), 're-probed and brought in');
    const again = await bestOfN({ runner: p, workflow, n: 6, seedNodes: ['1.color'], seeds: SEEDS.slice(0, 6), score });
    assert.equal(again.ranked.length, 6);
    assert.ok(revived.queued.size > 0, 'the server that came back takes prompts');
  });

  it('fails only when no server answers, naming each', async () => {
    const [a, b] = [await closedPort(), await closedPort()];
    const p = pool([client(`http://127.0.0.1:${a}`), client(`http://127.0.0.1:${b}`)]);
    await assert.rejects(p.start(), (e: unknown) => e instanceof ComfyConnectionError && e.message.includes(`127.0.0.1:${a}`) && e.message.includes(`127.0.0.1:${b}`));
  });

  it('moves the prompts of a server killed mid-run to its healthy peer within 10 s, not after the reconnect window', async () => {
    const dying = await sim({ nodeDelayMs: 400 });
    const healthy = await sim({ nodeDelayMs: 20 });
    const moved: string[] = [];
    const p = pool([client(dying.url), client(healthy.url)], { onRedispatch: (from) => moved.push(from.baseUrl) });
    await p.start();
    const running = bestOfN({ runner: p, workflow, n: 6, seedNodes: ['1.color'], seeds: SEEDS.slice(0, 6), score });
    const deadline = Date.now() + 5000;
    while (dying.queued.size === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.ok(dying.queued.size > 0, 'some prompts went to the server that dies');
    const onDying = new Set(dying.queued.keys());
    const { running: runningThere, pending: pendingThere } = dying.queueIds();
    assert.ok(runningThere.length + pendingThere.length > 0, 'it still had work when killed');
    await dying.stop(); // killed: no restart
    const killed = performance.now();
    const result = await Promise.race([running, new Promise<never>((_, reject) => setTimeout(() => reject(new Error('still waiting after 15 s')), 15_000).unref())]);
    const seconds = (performance.now() - killed) / 1000;
    assert.ok(seconds < 10, `moved after ${seconds.toFixed(1)} s`);
    assert.equal(result.ranked.length, 6, 'every variation produced and scored');
    assert.deepEqual(new Set(result.ranked.map((c) => c.seed)), new Set(SEEDS.slice(0, 6)));
    assert.ok(moved.length >= 1 && moved.every((u) => u === dying.url), `moved off ${moved.join(', ')}`);
    assert.ok(result.ranked.every((c) => !onDying.has(c.promptId)), 'every candidate came from the healthy server');
  });
});
