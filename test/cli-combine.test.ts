import assert from 'node:assert/strict';
import { copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { decideWire, type ScoreRecord, type WirePolicy } from '@clip-agiqa/core';

import { cli } from './support/cli-in-process.js';
import { DEMO_MODEL_DIR, ROOT, tempDir } from './support/helpers.js';

const EXAMPLES = join(ROOT, 'examples/images');
const HEADS = [{ name: 'quality', higherIsBetter: true }, { name: 'clipscore', higherIsBetter: true }];

const records = (stdout: string) => stdout.trim().split('\n').map((l) => JSON.parse(l) as ScoreRecord & { rank?: number });
const score = (args: string[]) => cli(['score', '--model', DEMO_MODEL_DIR, '--no-progress', '--json', ...args]);

describe('clip-agiqa score --combine: ranking by several heads, checked by the one policy validator', () => {
  const t = tempDir();
  after(() => t[Symbol.dispose]());
  const files = ['candidate-1-clean.jpg', 'candidate-2-blurred.jpg', 'candidate-3-noisy.jpg', 'candidate-4-blocky.jpg'];
  const prompts = join(t.dir, 'prompts.json');
  before(() => {
    for (const f of files) copyFileSync(join(EXAMPLES, f), join(t.dir, f));
    // Every image but the blocky one has a prompt: that one gets no clipscore.
    writeFileSync(prompts, JSON.stringify({ 'candidate-1-clean.jpg': 'a mountain lake', 'candidate-2-blurred.jpg': 'a mountain lake at dusk', 'candidate-3-noisy.jpg': 'a dog' }));
  });

  /** The rows' scores decided by core as a wire policy with this combination: what the CLI must print, rank by rank. */
  function expectedRanks(rows: ReturnType<typeof records>, combine: WirePolicy['combine']): (number | undefined)[] {
    const { decision } = decideWire(rows.map((r) => ('scores' in r ? { scores: r.scores as Record<string, number> } : { error: r.error })), { mode: 'rank', combine }, HEADS);
    return rows.map((_, i) => (decision.order.includes(i) ? decision.order.indexOf(i) + 1 : undefined));
  }

  it('weighted: ranks best first by quality + 2 x clipscore; an image without a prompt is listed unranked, with a note', async () => {
    const r = await score(['--prompts', prompts, '--combine', 'weighted:quality=1,clipscore=2', t.dir]);
    assert.equal(r.status, 0, r.stderr);
    const rows = records(r.stdout);
    assert.deepEqual(rows.map((x) => x.rank), [1, 2, 3, undefined]);
    assert.match(rows[3]!.path, /candidate-4-blocky\.jpg$/);
    const combined = rows.slice(0, 3).map((x) => ('scores' in x ? x.scores.quality! + 2 * x.scores.clipscore! : NaN));
    assert.deepEqual([...combined].sort((a, b) => b - a), combined, 'best first by the weighted sum');
    assert.deepEqual(rows.map((x) => x.rank), expectedRanks(rows, { method: 'weighted', weights: { quality: 1, clipscore: 2 } }));
    assert.match(r.stderr, /1 scored image\(s\) not ranked: no score on every head --combine names/);
  });

  it('lexicographic with a tolerance ranks as core decides the same wire combination; --top keeps the best', async () => {
    const all = await score(['--prompts', prompts, '--combine', 'lexicographic:clipscore~0.05,quality', t.dir]);
    assert.equal(all.status, 0, all.stderr);
    const rows = records(all.stdout);
    assert.deepEqual(rows.map((x) => x.rank), expectedRanks(rows, { method: 'lexicographic', heads: ['clipscore', 'quality'], tolerances: { clipscore: 0.05 } }));
    const top = await score(['--prompts', prompts, '--combine', 'lexicographic:clipscore~0.05,quality', '--top', '1', t.dir]);
    assert.equal(top.status, 0, top.stderr);
    assert.deepEqual(records(top.stdout).map((x) => [x.path, x.rank]), [[rows.find((x) => x.rank === 1)!.path, 1]]);
  });

  it('--threshold HEAD=X,HEAD=Y gates on every head: an image without a prompt fails the clipscore bar, with or without --combine', async () => {
    const gate = await score(['--prompts', prompts, '--threshold', 'quality=0,clipscore=0', t.dir]);
    assert.equal(gate.status, 0, gate.stderr);
    const rows = records(gate.stdout) as (ScoreRecord & { passed?: boolean })[];
    assert.deepEqual(rows.map((x) => [x.path.split('/').pop(), x.passed]), files.map((f, i) => [f, i !== 3]));
    assert.match(gate.stderr, /3 passed quality=0,clipscore=0/);
    const combined = await score(['--prompts', prompts, '--threshold', 'quality=0,clipscore=0', '--combine', 'lexicographic:clipscore,quality', t.dir]);
    assert.equal(combined.status, 0, combined.stderr);
    const ranked = records(combined.stdout) as (ScoreRecord & { passed?: boolean; rank?: number })[];
    assert.deepEqual(ranked.map((x) => x.passed), [true, true, true, false]);
    assert.deepEqual(ranked.map((x) => x.rank), [1, 2, 3, undefined]);
    const none = await score(['--prompts', prompts, '--threshold', 'quality=100,clipscore=0', '--fail-if-none-pass', t.dir]);
    assert.equal(none.status, 3, none.stderr);
  });

  it('refuses a combination or per-head bars the policy validator refuses, with its message, and flags it cannot read (exit 2)', async () => {
    const cases: [string[], string][] = [
      [['--combine', 'weighted:quality=1,alignment=2'], '--combine: the policy names unknown head(s) alignment; the model has quality, clipscore'],
      [['--combine', 'lexicographic:clipscore,quality~1,clipscore'], '--combine: combine: clipscore is listed twice in heads'],
      [['--combine', 'weighted:quality=0,clipscore=0'], '--combine: combine: every weight is 0; give at least one head a weight above 0'],
      [['--combine', 'weighted:quality=1,clipscore=-2'], '--combine: combine: the weight of clipscore must be a finite number >= 0 (a lower-is-better head already counts negatively), got -2'],
      [['--combine', 'lexicographic:clipscore~-1'], '--combine: combine: the tolerance of clipscore must be a finite number >= 0, got -1'],
      [['--combine', 'weighted:quality=1', '--head', 'quality'], '--combine: combine ranks in place of head: send one of them'],
      [['--combine', 'weighted:quality=1', '--threshold', '3'], '--combine: a single threshold reads one head, and combine ranks by several: put the bars per head in thresholds'],
      [['--threshold', 'qualty=3,clipscore=0.2'], '--threshold: the policy names unknown head(s) qualty; the model has quality, clipscore'],
      [['--threshold', 'quality=x'], '--threshold must be a number for quality, got "x"'],
      [['--threshold', 'quality=1,quality=2'], '--threshold: quality has two bars'],
      [['--combine', 'product:quality=1'], '--combine must be weighted:HEAD=WEIGHT,... or lexicographic:HEAD[~TOLERANCE],..., got "product:quality=1"'],
      [['--combine', 'weighted:quality'], '--combine: weighted takes HEAD=WEIGHT, got "quality"'],
      [['--combine', 'weighted:quality=x'], '--combine: the weight of quality must be a number, got "x" in "weighted:quality=x"'],
      [['--combine', 'lexicographic:quality,'], '--combine must be weighted:HEAD=WEIGHT,... or lexicographic:HEAD[~TOLERANCE],..., got "lexicographic:quality,"'],
    ];
    for (const [args, message] of cases) {
      const r = await score([...args, join(t.dir, files[0]!)]);
      assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.ok(r.stderr.includes(`clip-agiqa: ${message}\nRun clip-agiqa --help for usage.`), `${args.join(' ')}: ${r.stderr}`);
      assert.equal(r.stdout, '', 'nothing scored');
    }
  });
});
