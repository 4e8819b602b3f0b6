// The alignment head's training against its PyTorch reference (tools/train/torch_align_head.py): same
// rows, split, initial weights and batch orders; the test metrics must agree.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import {
  alignHeadModel, epochRng, evaluate, initAlignParams, normalisePairs, OrtBackend, PAPER_RECIPE, Rng, rowScorer, trainHead,
} from '@clip-agiqa/train';

import { python, pythonUnavailable } from './support/helpers.js';

/**
 * Rows [image || prompt text] of `groups` prompts whose MOS follows a reweighted cosine of image and
 * prompt (what an alignment head must learn), plus a per-prompt offset (some prompts are harder).
 */
function pairs(n: number, dim: number, groups: number, seed: number) {
  const rng = new Rng(seed);
  const texts = Array.from({ length: groups }, () => Float32Array.from({ length: dim }, () => rng.uniform(-1, 1)));
  const offsets = texts.map(() => rng.uniform(-0.5, 0.5));
  const weights = Float32Array.from({ length: dim }, () => rng.uniform(0, 2));
  const rows = new Float32Array(n * 2 * dim);
  for (let i = 0; i < n; i++) {
    const g = i % groups;
    const follow = rng.uniform(-0.3, 1);
    for (let k = 0; k < dim; k++) {
      rows[i * 2 * dim + k] = follow * texts[g]![k]! + rng.uniform(-1, 1);
      rows[i * 2 * dim + dim + k] = texts[g]![k]! * rng.uniform(0.5, 2); // norms differ, directions do not
    }
  }
  const unit = normalisePairs(rows, n, dim);
  const targets = Float64Array.from({ length: n }, (_, i) => {
    let s = 0;
    for (let k = 0; k < dim; k++) s += weights[k]! * unit[i * 2 * dim + k]! * unit[i * 2 * dim + dim + k]!;
    return 2.5 + 2 * Math.tanh(3 * s) + offsets[i % groups]! + rng.uniform(-0.1, 0.1);
  });
  return { rows, targets };
}

describe('alignment head training cross-check against PyTorch', { skip: pythonUnavailable(['torch']) ?? false }, () => {
  const dim = 32;
  const all = pairs(600, dim, 60, 11);
  const split = 480;
  const width = 2 * dim;
  const train = { embeds: all.rows.slice(0, split * width), targets: all.targets.slice(0, split) };
  const test = { rows: all.rows.slice(split * width), targets: [...all.targets.slice(split)] };
  const recipe = { ...PAPER_RECIPE, epochs: 30, hidden: 64, lr: 0.05 };
  const model = alignHeadModel(dim, recipe.hidden);

  function torchRun(seed: number, dropout: number, sameBatches: boolean, interaction = true): number[] {
    const init = initAlignParams(dim, new Rng(seed), recipe.hidden);
    const spec = {
      dim, hidden: recipe.hidden, recipe: { ...recipe, dropout }, torchSeed: seed, interaction,
      init: { w1: [...init.w1], b1: [...init.b1], w2: [...init.w2], b2: [...init.b2] },
      train: { rows: [...train.embeds], targets: [...train.targets] }, test: { rows: [...test.rows] },
      orders: sameBatches ? Array.from({ length: recipe.epochs }, (_, e) => epochRng(seed, e).permutation(split)) : null,
    };
    const r = python(['tools/train/torch_align_head.py'], { input: JSON.stringify(spec) });
    assert.equal(r.status, 0, r.stderr);
    return (JSON.parse(r.stdout) as { predictions: number[] }).predictions;
  }

  async function tsRun(seed: number, dropout: number): Promise<number[]> {
    const backend = await OrtBackend.create(1);
    try {
      const params = await trainHead({ model, train, seed, backend, recipe: { ...recipe, dropout } });
      return rowScorer(model, params, 'alignment')(test.rows, test.targets.length);
    } finally {
      await backend.close();
    }
  }

  it('ends with the same test SRCC (0.005) from the same weights and batches, dropout off; without v*t in the reference it does not', async () => {
    const ours = evaluate(await tsRun(5, 0), test.targets);
    const reference = evaluate(torchRun(5, 0, true), test.targets);
    const withoutProduct = evaluate(torchRun(5, 0, true, false), test.targets);
    console.log(`dropout off: SRCC ours ${ours.srcc.toFixed(4)} PyTorch ${reference.srcc.toFixed(4)} (Δ ${Math.abs(ours.srcc - reference.srcc).toExponential(2)}); `
      + `PLCC ours ${ours.plcc.toFixed(4)} PyTorch ${reference.plcc.toFixed(4)} (Δ ${Math.abs(ours.plcc - reference.plcc).toExponential(2)}); `
      + `PyTorch without v*t: SRCC ${withoutProduct.srcc.toFixed(4)}`);
    assert.ok(Math.abs(ours.srcc - reference.srcc) <= 0.005, `SRCC ${ours.srcc} vs PyTorch ${reference.srcc}`);
    assert.ok(Math.abs(ours.plcc - reference.plcc) <= 0.005, `PLCC ${ours.plcc} vs PyTorch ${reference.plcc}`);
    assert.ok(Math.abs(ours.srcc - withoutProduct.srcc) > 0.005, `a reference without the interaction term must differ: ${withoutProduct.srcc} vs ${ours.srcc}`);
  });
});
