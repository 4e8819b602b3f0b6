import assert from 'node:assert/strict';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { ComfyClient } from '@clip-agiqa/comfyui';

import { cli } from './support/cli-in-process.js';
import { startCli } from './support/cli-process.js';
import { closedPort, tempDir } from './support/helpers.js';
import { ComfySimulator } from './support/comfyui-simulator.js';

const workflow = {
  1: { class_type: 'EmptyImage', inputs: { width: 32, height: 32, batch_size: 1, color: 0 } },
  2: { class_type: 'SaveImageWebsocket', inputs: { images: ['1', 0] } },
};
const noStack = (stderr: string) => assert.doesNotMatch(stderr, /^\s+at /m, `a stack trace reached the user:\n${stderr}`);

describe('clip-agiqa comfy in daily use: degraded pools, Ctrl-C, seeds, hosts, --out', () => {
  let t: { dir: string; [Symbol.dispose](): void };
  let wf: string;
  const sims: ComfySimulator[] = [];
  const sim = async (o: Parameters<typeof ComfySimulator.start>[0] = {}) => {
    const s = await ComfySimulator.start(o);
    sims.push(s);
    return s;
  };
  before(() => {
    t = tempDir();
    wf = join(t.dir, 'workflow.json');
    writeFileSync(wf, JSON.stringify(workflow));
  });
  after(async () => {
    await Promise.all(sims.map((s) => s.stop().catch(() => undefined)));
    t[Symbol.dispose]();
  });

  it('a pool with one host already down runs best-of-N on the live one, naming the dead one once', async () => {
    const live = await sim();
    const dead = `http://127.0.0.1:${await closedPort()}`;
    const r = await cli(['comfy', 'best-of', '--n', '4', '--max-seed', '16777215', '--workflow', wf, '--seed-node', '1.color', '--host', `${dead},${live.url}`]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal((JSON.parse(r.stdout) as { ranked: unknown[] }).ranked.length, 4);
    assert.equal(live.queued.size, 4);
    assert.equal(r.stderr.split(`ComfyUI at ${dead} does not answer`).length - 1, 1, r.stderr);
    assert.match(r.stderr, /queueing 4 variation\(s\) on ComfyUI at/, 'says what it waits for');
    noStack(r.stderr);
  });

  it('a pool with every host down fails on one line naming each, exit 1', async () => {
    const [a, b] = [`http://127.0.0.1:${await closedPort()}`, `http://127.0.0.1:${await closedPort()}`];
    const r = await cli(['comfy', 'best-of', '--n', '2', '--workflow', wf, '--seed-node', '1.color', '--host', `${a},${b}`]);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /\[COMFY_UNREACHABLE\] no ComfyUI of the pool answers.*: is ComfyUI running there\? Start it, or give its address with --host/);
    assert.ok(r.stderr.includes(a) && r.stderr.includes(b));
    noStack(r.stderr);
  });

  it('Ctrl-C mid-run takes the run\'s prompts off the queue, leaves others\' alone, prints and saves the attempts so far, exits 130', async () => {
    const s = await sim({ nodeDelayMs: 250 });
    const out = join(t.dir, 'interrupted');
    const run = startCli(['comfy', 'best-of', '--n', '6', '--max-seed', '16777215', '--workflow', wf, '--seed-node', '1.color', '--host', s.url, '--out', out]);
    await run.stderrMatches(/attempt \d+: seed \d+ -> \d/);
    // Someone else's prompt waits behind the run's: it must survive the cleanup.
    const other = new ComfyClient(s.url);
    const foreign = await other.queuePrompt({ ...workflow, 1: { ...workflow[1], inputs: { ...workflow[1].inputs, color: 7 } } });
    run.child.kill('SIGINT');
    const r = await run.done;
    assert.equal(r.status, 130, r.stderr);
    const ours = [...s.queued].filter(([id, client]) => id !== foreign.promptId && client !== other.clientId).map(([id]) => id);
    assert.ok(ours.length >= 2, 'the run had queued its prompts');
    // A running prompt stops at its next node once interrupted, as in ComfyUI: give it that long.
    const left = () => { const q = s.queueIds(); return [...q.running, ...q.pending].filter((id) => ours.includes(id)); };
    for (let i = 0; i < 40 && left().length; i++) await new Promise((r) => setTimeout(r, 25));
    assert.deepEqual(left(), [], 'none of the run\'s prompts is left on ComfyUI');
    const { running, pending } = s.queueIds();
    assert.ok([...running, ...pending].includes(foreign.promptId) || (await other.history(foreign.promptId)) !== null, 'another client\'s prompt is kept');
    const report = JSON.parse(r.stdout) as { ranked: { seed: number }[]; winner: unknown };
    assert.ok(report.ranked.length >= 1 && report.ranked.length < 6, `attempts so far: ${report.ranked.length}`);
    assert.ok(report.winner);
    assert.equal(readdirSync(out).length, report.ranked.length + 1, 'ranked images and the winner written');
    assert.match(r.stderr, /interrupted: taking this run's prompts off ComfyUI/);
    assert.match(r.stderr, /\d+ pending prompt\(s\) deleted, [01] running interrupted/);
    noStack(r.stderr);
    await other.close();
  });

  it('--max-seed takes ComfyUI\'s whole 64-bit range and sends the seeds exactly; beyond it, a usage error before anything runs', async () => {
    const s = await sim();
    const seeded = join(t.dir, 'seeded.json');
    writeFileSync(seeded, JSON.stringify({ ...workflow, 3: { class_type: 'RandomNoise', inputs: { noise_seed: 0 } } }));
    const r = await cli(['comfy', 'best-of', '--n', '3', '--max-seed', '18446744073709551615', '--workflow', seeded, '--seed-node', '3', '--host', s.url]);
    assert.equal(r.status, 0, r.stderr);
    const sent = s.promptBodies.map((b) => /"noise_seed":(\d+)/.exec(b)![1]!);
    assert.equal(sent.length, 3);
    assert.ok(sent.some((x) => BigInt(x) > BigInt(Number.MAX_SAFE_INTEGER)), `seeds drawn over the whole range: ${sent.join(', ')}`);
    assert.ok(sent.every((x) => BigInt(x) <= 18446744073709551615n));
    const reported = [...r.stdout.matchAll(/"seed": (\d+)/g)].map((m) => m[1]!);
    assert.deepEqual(new Set(reported), new Set(sent), 'the report names the seeds exactly as sent');
    for (const bad of ['18446744073709551616', '0', '1e6', '-3']) {
      const refused = await cli(['comfy', 'best-of', '--n', '1', `--max-seed=${bad}`, '--workflow', seeded, '--seed-node', '3', '--host', 'http://127.0.0.1:9']);
      assert.equal(refused.status, 2, refused.stderr);
      assert.match(refused.stderr, /--max-seed must be a whole number from 1 to 18446744073709551615/);
      assert.doesNotMatch(refused.stderr, /127\.0\.0\.1:9/, 'refused before ComfyUI is contacted');
    }
  });

  it('--host: says what is wrong with a malformed address, as a usage error', async () => {
    const cases: [string, RegExp][] = [
      ['localhost:8188', /--host localhost:8188: not an http\(s\) URL \(did you mean http:\/\/localhost:8188\?\)/],
      ['ws://127.0.0.1:8188', /addressed by its http URL, not its websocket/],
      ['http://a:1,,http://b:2', /an empty entry/],
      ['not a url', /not a URL: use its http address, e\.g\. http:\/\/127\.0\.0\.1:8188/],
      ['http://a:1,http://a:1/', /named twice/],
    ];
    for (const [host, message] of cases) {
      const r = await cli(['comfy', 'best-of', '--n', '1', '--workflow', wf, '--seed-node', '1.color', '--host', host]);
      assert.equal(r.status, 2, `${host}: ${r.stderr}`);
      assert.match(r.stderr, message);
      noStack(r.stderr);
    }
  });

  it('--out is checked before the run', async () => {
    const file = join(t.dir, 'a-file');
    writeFileSync(file, 'x');
    const r = await cli(['comfy', 'best-of', '--n', '1', '--workflow', wf, '--seed-node', '1.color', '--host', 'http://127.0.0.1:9', '--out', file]);
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /--out .*a-file: a file is in the way/);
    assert.doesNotMatch(r.stderr, /COMFY_UNREACHABLE/);
  });
});
