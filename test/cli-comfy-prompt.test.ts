import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { createScorer, type Scorer } from '@clip-agiqa/core';

import { cli } from './support/cli-in-process.js';
import { DEMO_MODEL_DIR, tempDir } from './support/helpers.js';
import { ComfySimulator } from './support/comfyui-simulator.js';

const workflow = {
  1: { class_type: 'EmptyImage', inputs: { width: 32, height: 32, batch_size: 1, color: 0 } },
  2: { class_type: 'SaveImageWebsocket', inputs: { images: ['1', 0] } },
};

interface Described { seed: number; score: number }

describe('clip-agiqa comfy with a prompt', () => {
  const t = tempDir();
  const wf = join(t.dir, 'workflow.json');
  let sim: ComfySimulator;
  let scorer: Scorer;
  before(async () => {
    writeFileSync(wf, JSON.stringify(workflow));
    sim = await ComfySimulator.start();
    scorer = await createScorer({ model: DEMO_MODEL_DIR });
  });
  after(async () => {
    await sim.stop();
    await scorer.close();
    t[Symbol.dispose]();
  });

  it('ranks the variations by clipscore against --prompt, as the scorer scores them', async () => {
    const out = join(t.dir, 'out');
    const r = await cli(['comfy', 'best-of', '--n', '3', '--max-seed', '16777215', '--workflow', wf, '--seed-node', '1.color', '--host', sim.url,
      '--model', DEMO_MODEL_DIR, '--head', 'clipscore', '--prompt', 'a plain red square', '--out', out]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /scoring against the prompt "a plain red square"/);
    const report = JSON.parse(r.stdout) as { ranked: Described[]; unscored: Described[] };
    assert.equal(report.ranked.length, 3);
    assert.equal(report.unscored.length, 0);
    for (const [i, c] of report.ranked.entries()) {
      const file = join(out, `rank-${String(i + 1).padStart(2, '0')}-seed-${c.seed}.png`);
      const expected = await scorer.score({ image: file, prompt: 'a plain red square' });
      assert.equal(c.score, expected.scores.clipscore, file);
    }
    assert.deepEqual(report.ranked.map((c) => c.score), report.ranked.map((c) => c.score).sort((a, b) => b - a));
  });

  it('scores against the workflow\'s own prompt when no --prompt is given, and leaves it out for a quality head', async () => {
    const prompted = join(t.dir, 'prompted.json');
    // The sampler's positive input names the text encoder, as in any text-to-image workflow.
    writeFileSync(prompted, JSON.stringify({ ...workflow, 1: { ...workflow[1], inputs: { ...workflow[1].inputs, positive: ['3', 0] } },
      3: { class_type: 'CLIPTextEncode', inputs: { text: 'a plain blue square' } } }));
    const out = join(t.dir, 'out-workflow');
    const r = await cli(['comfy', 'best-of', '--n', '2', '--max-seed', '16777215', '--workflow', prompted, '--seed-node', '1.color', '--host', sim.url,
      '--model', DEMO_MODEL_DIR, '--head', 'clipscore', '--out', out]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /scoring against the prompt "a plain blue square"/);
    const [best] = (JSON.parse(r.stdout) as { ranked: Described[] }).ranked;
    const expected = await scorer.score({ image: join(out, `rank-01-seed-${best!.seed}.png`), prompt: 'a plain blue square' });
    assert.equal(best!.score, expected.scores.clipscore);
    const quality = await cli(['comfy', 'best-of', '--n', '1', '--max-seed', '16777215', '--workflow', prompted, '--seed-node', '1.color', '--host', sim.url, '--model', DEMO_MODEL_DIR]);
    assert.equal(quality.status, 0, quality.stderr);
    assert.doesNotMatch(quality.stderr, /prompt "/, 'a quality head reads no prompt');
  });

  it('leaves every variation unscored when the head needs a prompt and the workflow has none', async () => {
    const r = await cli(['comfy', 'best-of', '--n', '2', '--max-seed', '16777215', '--workflow', wf, '--seed-node', '1.color', '--host', sim.url,
      '--model', DEMO_MODEL_DIR, '--head', 'clipscore']);
    const report = JSON.parse(r.stdout) as { winner: unknown; ranked: Described[]; unscored: Described[] };
    assert.equal(report.winner, null, r.stderr);
    assert.equal(report.unscored.length, 2);
    assert.match(r.stderr, /clipscore needs a prompt and the workflow has none .*: give one with --prompt/);
  });
});
