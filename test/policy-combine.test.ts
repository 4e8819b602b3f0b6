import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { decide, decideWire, PolicyError, type Decidable, type HeadDirection } from '@clip-agiqa/core';

const HEADS: HeadDirection[] = [
  { name: 'quality', higherIsBetter: true },
  { name: 'artefacts', higherIsBetter: false },
  { name: 'clipscore', higherIsBetter: true, needsPrompt: true },
];
// Candidate 2 was sent without a prompt (no clipscore); 3 could not be scored.
const CANDIDATES: Decidable[] = [
  { scores: { quality: 3, artefacts: 0.4, clipscore: 0.3 } },
  { scores: { quality: 1, artefacts: 0.1, clipscore: 0.35 } },
  { scores: { quality: 5, artefacts: 0.6 } },
  { error: new Error('corrupt') },
];

const refusal = (code: string, message: string) => (e: unknown) => e instanceof PolicyError && e.code === code && e.message === message;

describe('policies over several heads (core)', () => {
  it('refuses, through the Policy of the library too, weights and tolerances that are not finite', () => {
    for (const w of [NaN, Infinity]) {
      assert.throws(() => decide(CANDIDATES, { combine: { method: 'weighted', weights: { quality: w } } }, HEADS),
        refusal('INVALID_POLICY', `combine: the weight of quality must be a finite number >= 0 (a lower-is-better head already counts negatively), got ${w}`));
    }
    assert.throws(() => decide(CANDIDATES, { combine: { method: 'lexicographic', heads: ['quality'], tolerances: { quality: Infinity } } }, HEADS),
      refusal('INVALID_POLICY', 'combine: the tolerance of quality must be a finite number >= 0, got Infinity'));
    assert.throws(() => decide(CANDIDATES, { combine: { method: 'weighted', weights: {} } }, HEADS), refusal('INVALID_POLICY', 'combine: weights names no head'));
    assert.throws(() => decide(CANDIDATES, { combine: { method: 'weighted', weights: { quality: 1 } }, percentile: 50 }, HEADS),
      refusal('INVALID_POLICY', 'a single threshold reads one head, and combine ranks by several: put the bars per head in thresholds'));
    assert.throws(() => decide(CANDIDATES, { combine: { method: 'lexicographic', heads: ['beauty'] } }, HEADS),
      refusal('UNKNOWN_HEAD', 'the policy names unknown head(s) beauty; the model has quality, artefacts, clipscore'));
  });

  it('keeps the one Decision shape: head is the combination\'s first head, best the best by the combination', () => {
    const d = decide(CANDIDATES, { combine: { method: 'lexicographic', heads: ['clipscore', 'quality'] } }, HEADS);
    assert.deepEqual(d, { head: 'clipscore', order: [1, 0], passed: [1, 0], rejected: [2, 3], best: 1 });
    assert.equal(decide(CANDIDATES, { combine: { method: 'weighted', weights: { artefacts: 1, quality: 1 } } }, HEADS).head, 'artefacts');
  });

  it('says why each candidate did not pass: bars missed, a prompt head without a prompt, no ranking without a combined head', () => {
    const gate = decideWire(CANDIDATES, { mode: 'filter', thresholds: { quality: 2, clipscore: 0.32 } }, HEADS);
    assert.deepEqual(gate.decision.passed, []);
    assert.deepEqual(gate.missed, [
      ['clipscore 0.3 is under the bar 0.32'],
      ['quality 1 is under the bar 2'],
      ['misses the clipscore bar 0.32: no clipscore score (it scores against a prompt, and the candidate had none)'],
      [],
    ]);
    const artefacts = decideWire(CANDIDATES, { mode: 'reroll-if-none-pass', thresholds: { artefacts: 0.5 }, combine: { method: 'weighted', weights: { quality: 1, clipscore: 10 } } }, HEADS);
    assert.deepEqual(artefacts.decision.passed, [0, 1]);
    assert.deepEqual(artefacts.missed, [[], [], ['not ranked: no clipscore score (it scores against a prompt, and the candidate had none)'], []]);
    const percentile = decideWire(CANDIDATES, { mode: 'filter', head: 'artefacts', threshold: 50, threshold_kind: 'percentile' }, HEADS);
    assert.equal(percentile.threshold, 0.4);
    assert.deepEqual(percentile.missed, [[], [], ['artefacts 0.6 is over the bar 0.4'], []], 'a percentile bar as it came to on the batch');
    const best = decideWire(CANDIDATES, { mode: 'best-of' }, HEADS);
    assert.deepEqual(best.missed, [[], [], [], []], 'best-of\'s cut is no bar');
  });
});
