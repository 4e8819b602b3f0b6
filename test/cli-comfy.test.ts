import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { cli } from './support/cli-in-process.js';
import { ROOT, tempDir } from './support/helpers.js';
import { ComfySimulator } from './support/comfyui-simulator.js';

const workflow = {
  1: { class_type: 'EmptyImage', inputs: { width: 64, height: 48, batch_size: 1, color: 0 } },
  2: { class_type: 'SaveImageWebsocket', inputs: { images: ['1', 0] } },
};

const noStack = (stderr: string) => assert.doesNotMatch(stderr, /^\s+at /m, `a stack trace reached the user:\n${stderr}`);

describe('clip-agiqa comfy: errors, partial results, validation first', () => {
  let sim: ComfySimulator;
  let t: { dir: string; [Symbol.dispose](): void };
  let wf: string;
  before(async () => {
    sim = await ComfySimulator.start();
    t = tempDir();
    wf = join(t.dir, 'workflow.json');
    writeFileSync(wf, JSON.stringify(workflow));
  });
  after(async () => {
    await sim.stop();
    t[Symbol.dispose]();
  });

  it('checks the workflow and the seed node before loading the model or contacting ComfyUI: one line, exit 1', async () => {
    const uiFormat = join(t.dir, 'ui.json');
    writeFileSync(uiFormat, JSON.stringify({ nodes: [], links: [], version: 0.4 }));
    const broken = join(t.dir, 'broken.json');
    writeFileSync(broken, '{"1": {"class_type": ');
    const cases: [string[], RegExp][] = [
      [['--workflow', join(t.dir, 'missing.json')], /\[WORKFLOW_INVALID\] cannot read the workflow .*missing\.json/],
      [['--workflow', broken], /is not JSON/],
      [['--workflow', uiFormat], /UI-format workflow; export it with "Export \(API\)"/],
      [['--workflow', wf, '--seed-node', '7'], /the workflow has no node 7/],
      [['--workflow', wf, '--seed-node', '1.seed'], /node 1 \(EmptyImage\) has no input seed/],
    ];
    for (const [args, message] of cases) {
      // A model that does not exist and a host that does not answer: the workflow error must come first.
      const r = await cli(['comfy', 'best-of', '--n', '2', '--host', 'http://127.0.0.1:9', '--model', join(t.dir, 'no-model'), ...args]);
      assert.equal(r.status, 1, r.stderr);
      assert.match(r.stderr, message);
      noStack(r.stderr);
      assert.equal(r.stdout, '');
    }
  });

  it('ComfyUI not running: one line naming the server, exit 1, before the model is loaded', async () => {
    const r = await cli(['comfy', 'best-of', '--n', '2', '--workflow', wf, '--seed-node', '1.color', '--host', 'http://127.0.0.1:9', '--model', join(t.dir, 'no-model')]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /ComfyUI at http:\/\/127\.0\.0\.1:9/);
    assert.doesNotMatch(r.stderr, /BUNDLE_NOT_FOUND/);
    noStack(r.stderr);
  });

  it('a refused workflow: ComfyUI\'s reason on one line, exit 1', async () => {
    const refused = join(t.dir, 'refused.json');
    writeFileSync(refused, JSON.stringify({ ...workflow, 3: { class_type: 'NoSuchNode', inputs: {} } }));
    const r = await cli(['comfy', 'reroll', '--threshold', '1e9', '--max-attempts', '3', '--workflow', refused, '--seed-node', '1.color', '--host', sim.url]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /ComfyUI refused the workflow: Cannot execute because node NoSuchNode does not exist/);
    noStack(r.stderr);
  });

  it('reroll goes on past an attempt whose node failed, and reports it', async () => {
    sim.outOfMemory = 1;
    const r = await cli(['comfy', 'reroll', '--threshold', '1e9', '--max-attempts', '3', '--max-seed', '16777215', '--workflow', wf, '--seed-node', '1.color', '--host', sim.url]);
    assert.equal(r.status, 1, r.stderr);
    const report = JSON.parse(r.stdout) as { attempts: { candidates: unknown[]; error?: { message: string } }[] };
    assert.equal(report.attempts.length, 3);
    assert.match(report.attempts[0]!.error!.message, /node 1 \(EmptyImage\) failed: torch\.OutOfMemoryError: CUDA out of memory/);
    assert.equal(report.attempts[1]!.candidates.length, 1);
    assert.equal(report.attempts[2]!.candidates.length, 1);
    assert.match(r.stderr, /attempt 1: seed \d+ -> failed: node 1/);
    noStack(r.stderr);
  });

  it('best-of keeps and saves the attempts that finished when others failed', async () => {
    sim.outOfMemory = 1;
    const out = join(t.dir, 'best');
    const r = await cli(['comfy', 'best-of', '--n', '3', '--max-seed', '16777215', '--workflow', wf, '--seed-node', '1.color', '--host', sim.url, '--out', out]);
    assert.equal(r.status, 1, r.stderr);
    assert.ok(r.stdout, r.stderr);
    const report = JSON.parse(r.stdout) as { ranked: unknown[]; failed: { error: { message: string } }[]; winner: unknown };
    assert.equal(report.ranked.length, 2);
    assert.equal(report.failed.length, 1);
    assert.ok(report.winner);
    assert.equal(readdirSync(out).length, 3, 'two ranked and the winner');
    noStack(r.stderr);
  });

  it('ComfyUI gone for good mid-reroll: the finished attempts are printed, the lost one is not counted, exit 1', async () => {
    const dying = await ComfySimulator.start({ nodeDelayMs: 20 });
    try {
      dying.crashAfter = 2;
      const r = await cli(['comfy', 'reroll', '--threshold', '1e9', '--max-attempts', '5', '--max-seed', '16777215', '--workflow', wf, '--seed-node', '1.color',
        '--host', dying.url, '--reconnect-timeout', '1']);
      assert.equal(r.status, 1, r.stderr);
      const report = JSON.parse(r.stdout) as { attempts: { candidates: unknown[] }[]; stopped: { message: string } };
      assert.equal(report.attempts.length, 2);
      assert.ok(report.attempts.every((a) => a.candidates.length === 1));
      assert.match(report.stopped.message, /could not reconnect within/);
      assert.match(r.stderr, /the run stopped after 2 attempt\(s\)/);
      noStack(r.stderr);
    } finally {
      await dying.stop().catch(() => undefined);
    }
  });

  it('--fail-if-none-pass: exit 3 when the run worked but no attempt reached the threshold', async () => {
    const r = await cli(['comfy', 'reroll', '--threshold', '1e9', '--max-attempts', '2', '--max-seed', '16777215', '--workflow', wf, '--seed-node', '1.color', '--host', sim.url, '--fail-if-none-pass']);
    assert.equal(r.status, 3, r.stderr);
    const plain = await cli(['comfy', 'reroll', '--threshold', '1e9', '--max-attempts', '2', '--max-seed', '16777215', '--workflow', wf, '--seed-node', '1.color', '--host', sim.url]);
    assert.equal(plain.status, 0, plain.stderr);
  });
});

describe('clip-agiqa comfy install-nodes', () => {
  it('copies (or links) the node pack into custom_nodes, refuses a folder that is not ComfyUI, and replaces only with --force', async () => {
    using t = tempDir();
    const comfy = join(t.dir, 'ComfyUI');
    mkdirSync(join(comfy, 'custom_nodes'), { recursive: true });
    const notComfy = await cli(['comfy', 'install-nodes', '--comfyui', t.dir]);
    assert.equal(notComfy.status, 2);
    assert.match(notComfy.stderr, /has no custom_nodes folder: is it a ComfyUI installation\?/);
    const r = await cli(['comfy', 'install-nodes', '--comfyui', comfy]);
    assert.equal(r.status, 0, r.stderr);
    const installed = join(comfy, 'custom_nodes', 'comfyui-clip-agiqa');
    for (const file of ['__init__.py', 'nodes.py', 'bridge_client.py', 'config.py', 'logic.py', 'README.md', 'LICENSE']) {
      assert.equal(readFileSync(join(installed, file), 'utf8'), readFileSync(join(ROOT, 'packages/comfyui/comfyui_nodes', file), 'utf8'), file);
    }
    const again = await cli(['comfy', 'install-nodes', '--comfyui', comfy]);
    assert.equal(again.status, 2);
    assert.match(again.stderr, /already exists: pass --force/);
    const linked = await cli(['comfy', 'install-nodes', '--comfyui', comfy, '--link', '--force']);
    assert.equal(linked.status, 0, linked.stderr);
    assert.equal(realpathSync(installed), realpathSync(join(ROOT, 'packages/comfyui/comfyui_nodes')));
  });
});
