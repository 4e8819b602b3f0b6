import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { bestOfN, ComfyClient, rerollUntil, startBridge, type BridgeResult, type Workflow } from '@clip-agiqa/comfyui';
import { createScorer, decide, fromWirePolicy, PolicyError, type Decidable, type HeadDirection, type Scorer } from '@clip-agiqa/core';

import { TestClient } from './support/bridge-client.js';
import { cli } from './support/cli-in-process.js';
import { ComfySimulator } from './support/comfyui-simulator.js';
import { IMAGES, lowerIsBetterBundle, tempDir } from './support/helpers.js';

const LOWER: HeadDirection = { name: 'artefacts', higherIsBetter: false };
const HIGHER: HeadDirection = { name: 'quality', higherIsBetter: true };

describe('decisions (core)', () => {
  // Candidate 3 failed; 1 and 4 tie on artefacts.
  const candidates: Decidable[] = [
    { scores: { artefacts: 0.5, quality: 3 } },
    { scores: { artefacts: 0.2, quality: 2 } },
    { scores: { artefacts: 0.9, quality: 4 } },
    { error: new Error('corrupt') },
    { scores: { artefacts: 0.2, quality: 1 } },
    { scores: { artefacts: NaN, quality: 5 } },
  ];

  it('ranks lower-is-better heads lowest first, ties in input order, unscored left out', () => {
    assert.deepEqual(decide(candidates, {}, [LOWER]).order, [1, 4, 0, 2]);
    assert.deepEqual(decide(candidates, {}, [HIGHER]).order, [5, 2, 0, 1, 4]);
  });

  it('applies every criterion the right way round', () => {
    const heads = [LOWER, HIGHER];
    assert.deepEqual(decide(candidates, { head: 'artefacts', threshold: 0.5 }, heads).passed, [1, 4, 0]);
    assert.deepEqual(decide(candidates, { head: 'artefacts', topK: 1 }, heads).passed, [1]);
    assert.deepEqual(decide(candidates, { head: 'artefacts', topPercent: 50 }, heads).passed, [1, 4]);
    assert.deepEqual(decide(candidates, { head: 'artefacts', thresholds: { artefacts: 0.5, quality: 2 } }, heads).passed, [1, 0]);
    const byPercentile = decide(candidates, { head: 'artefacts', percentile: 50 }, heads);
    assert.equal(byPercentile.percentileBar, 0.35, 'median of 0.2, 0.2, 0.5, 0.9');
    assert.deepEqual(byPercentile.passed, [1, 4]);
    const d = decide(candidates, { head: 'artefacts' }, heads);
    assert.equal(d.best, 1);
    assert.deepEqual(d.rejected, [3, 5]);
    assert.deepEqual(decide([candidates[0]!, candidates[2]!], { head: 'artefacts', threshold: 0.5 }, heads).passed, [0]);
    assert.deepEqual(decide([candidates[3]!], {}, heads).passed, [], 'a failed candidate never passes');
  });

  it('reads wire policies, deprecated spellings as their current names', () => {
    assert.deepEqual(fromWirePolicy({ mode: 'gate', head: 'artefacts', threshold: 0.5 }), fromWirePolicy({ mode: 'filter', head: 'artefacts', threshold: 0.5 }));
    assert.deepEqual(fromWirePolicy({ mode: 'filter', head: 'artefacts', threshold: 0.5 }), { mode: 'filter', policy: { head: 'artefacts', threshold: 0.5 } });
    assert.deepEqual(fromWirePolicy({ mode: 'filter', threshold: 40, threshold_kind: 'percentile' }).policy, { percentile: 40 });
    assert.deepEqual(fromWirePolicy({ mode: 'best-of-n' }), { mode: 'best-of', policy: { topK: 1 } });
    assert.deepEqual(fromWirePolicy({ mode: 'reroll-if-none-pass', thresholds: { quality: 3 } }), { mode: 'reroll-if-none-pass', policy: { thresholds: { quality: 3 } } });
    assert.deepEqual(fromWirePolicy({ mode: 'rank', head: 'quality' }), { mode: 'rank', policy: { head: 'quality' } }, 'rank passes every scored candidate');
    assert.throws(() => fromWirePolicy({ mode: 'rank', head: 'quality', threshold: 3 }), (e: unknown) => e instanceof PolicyError && e.code === 'INVALID_POLICY', 'a bar where no bar is applied');
  });

  it('refuses policies it cannot apply', () => {
    assert.throws(() => decide(candidates, { head: 'nope' }, [LOWER]), (e: unknown) => e instanceof PolicyError && e.code === 'UNKNOWN_HEAD');
    assert.throws(() => decide(candidates, { topK: -1 }, [LOWER]), (e: unknown) => e instanceof PolicyError && e.code === 'INVALID_POLICY');
    assert.throws(() => decide(candidates, { percentile: 101 }, [LOWER]), (e: unknown) => e instanceof PolicyError && e.code === 'INVALID_POLICY');
  });
});

/** A lower-is-better head through every adapter: the best is always the lowest score. */
describe('a head where lower is better, through the adapters', () => {
  const t = tempDir();
  const NAMES = ['landscape.jpg', 'portrait.jpg', 'square.png', 'wide.webp', 'grey.png'];
  const colourWorkflow: Workflow = {
    1: { class_type: 'EmptyImage', inputs: { width: 64, height: 48, batch_size: 1, color: 0 } },
    2: { class_type: 'SaveImageWebsocket', inputs: { images: ['1', 0] } },
  };
  const SEEDS = [0x102030, 0xff8000, 0x00ff00, 0x123456];
  let model: string;
  let scorer: Scorer;
  let sim: ComfySimulator;
  let scores: number[];

  before(async () => {
    model = lowerIsBetterBundle(join(t.dir, 'bundle'));
    scorer = await createScorer({ model });
    sim = await ComfySimulator.start();
    scores = (await scorer.score(NAMES.map((n) => join(IMAGES, n)))).map((o) => ('scores' in o ? o.scores.quality! : NaN));
    assert.equal(new Set(scores).size, NAMES.length, 'distinct scores');
  });
  after(async () => {
    await sim.stop();
    await scorer.close();
    t[Symbol.dispose]();
  });
  const lowestFirst = () => scores.map((_, i) => i).sort((a, b) => scores[a]! - scores[b]!);

  it('the scorer ranks and filters lowest first', async () => {
    assert.equal(scorer.model.heads[0]!.higherIsBetter, false);
    const best = await scorer.bestOf(NAMES.map((n) => join(IMAGES, n)));
    assert.equal(best.best!.index, lowestFirst()[0]);
    const bar = scores[lowestFirst()[1]!]!;
    const filtered = await scorer.filter(NAMES.map((n) => join(IMAGES, n)), { threshold: bar });
    assert.deepEqual(filtered.passed.map((r) => r.index), lowestFirst().slice(0, 2));
  });

  it('the bridge gates with <= and keeps the lowest as best-of-k', async () => {
    const bridge = await startBridge({ scorer, port: 0, log: () => undefined });
    const c = await TestClient.connect(bridge.url);
    try {
      await c.hello();
      const images = NAMES.map((n) => readFileSync(join(IMAGES, n)));
      const best = await c.score('b', images, { mode: 'best-of', k: 2 }) as BridgeResult;
      assert.deepEqual(best.decision.order, lowestFirst());
      assert.deepEqual(best.decision.passed, lowestFirst().slice(0, 2));
      const bar = (scores[lowestFirst()[1]!]! + scores[lowestFirst()[2]!]!) / 2;
      const filter = await c.score('f', images, { mode: 'filter', threshold: bar }) as BridgeResult;
      assert.deepEqual(filter.decision.passed, lowestFirst().slice(0, 2).sort());
      const gate = await c.score('g', images, { mode: 'gate', threshold: bar }) as BridgeResult;
      assert.deepEqual(gate.decision, filter.decision, 'gate, the deprecated spelling, is filter');
    } finally {
      c.close();
      await bridge.close();
    }
  });

  it('the runner keeps the lowest-scoring image as best-of-N and rerolls until a score is low enough', async () => {
    const client = new ComfyClient(sim.url, { reconnect: { baseMs: 50, capMs: 200 } });
    try {
      const score = async (images: Buffer[]) => (await scorer.score(images)).map((o) => ('scores' in o ? o.scores.quality! : NaN));
      const r = await bestOfN({ runner: client, workflow: colourWorkflow, n: 4, seedNodes: ['1.color'], seeds: SEEDS, score, higherIsBetter: false });
      const values = r.ranked.map((c) => c.score);
      assert.equal(r.winner!.score, Math.min(...values));
      assert.deepEqual(values, [...values].sort((a, b) => a - b));
      const byScore = new Map(r.ranked.map((c) => [c.seed, c.score]));
      const worstFirst = [...SEEDS].sort((a, b) => byScore.get(b)! - byScore.get(a)!);
      const reroll = await rerollUntil({ runner: client, workflow: colourWorkflow, seedNodes: ['1.color'], seeds: worstFirst, score, higherIsBetter: false,
        threshold: byScore.get(worstFirst[2]!)!, maxAttempts: 4 });
      assert.equal(reroll.passed, true);
      assert.equal(reroll.attempts.length, 3, 'stops at the first score at or below the bar');
      const never = await rerollUntil({ runner: client, workflow: colourWorkflow, seedNodes: ['1.color'], seeds: worstFirst, score, higherIsBetter: false, threshold: -1e9, maxAttempts: 3 });
      assert.equal(never.best!.seed, worstFirst[2], 'keeps the lowest of the attempts');
    } finally {
      await client.close();
    }
  });

  it('the CLI marks passes with <=, ranks --top lowest first, and comfy best-of keeps the lowest', async () => {
    const bar = scores[lowestFirst()[1]!]!;
    const scored = await cli(['score', '--json', '--no-progress', '--model', model, '--threshold', String(bar), '--top', '3', ...NAMES.map((n) => join(IMAGES, n))]);
    assert.equal(scored.status, 0, scored.stderr);
    const records = scored.stdout.trim().split('\n').map((l) => JSON.parse(l) as { path: string; rank: number; passed: boolean });
    assert.deepEqual(records.map((r) => r.path), lowestFirst().slice(0, 3).map((i) => join(IMAGES, NAMES[i]!)));
    assert.deepEqual(records.map((r) => r.passed), [true, true, false]);

    const workflow = join(t.dir, 'workflow.json');
    writeFileSync(workflow, JSON.stringify(colourWorkflow));
    const comfy = await cli(['comfy', 'best-of', '--workflow', workflow, '--n', '4', '--seed-node', '1.color', '--max-seed', '16777215', '--host', sim.url, '--model', model]);
    assert.equal(comfy.status, 0, comfy.stderr);
    const report = JSON.parse(comfy.stdout) as { winner: { score: number }; ranked: { score: number }[] };
    assert.equal(report.winner.score, Math.min(...report.ranked.map((c) => c.score)));
  });
});
