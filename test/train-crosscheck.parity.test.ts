import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import {
  epochRng, evaluate, headFromParams, initMlpParams, normaliseEmbeddings, OrtBackend, PAPER_RECIPE, Rng, trainHead, mlpHeadModel,
} from '@clip-agiqa/train';

import { python, pythonUnavailable } from './support/helpers.js';

/** Embeddings with a quality direction, as in the head tests. */
function data(n: number, dim: number, seed: number) {
  const rng = new Rng(seed);
  const direction = Float32Array.from({ length: dim }, () => rng.uniform(-1, 1));
  const embeds = Float32Array.from({ length: n * dim }, () => rng.uniform(-1, 1));
  const unit = normaliseEmbeddings(embeds, n, dim);
  const targets = Float64Array.from({ length: n }, (_, i) => {
    let s = 0;
    for (let k = 0; k < dim; k++) s += unit[i * dim + k]! * direction[k]!;
    return 2.5 + 2 * Math.tanh(2 * s) + rng.uniform(-0.2, 0.2);
  });
  return { embeds, targets };
}

describe('training cross-check against PyTorch', { skip: pythonUnavailable(['torch']) ?? false }, () => {
  const dim = 32;
  const all = data(600, dim, 21);
  const split = 480;
  const train = { embeds: all.embeds.slice(0, split * dim), targets: all.targets.slice(0, split) };
  const test = { embeds: all.embeds.slice(split * dim), targets: all.targets.slice(split) };
  const textInit = Float32Array.from({ length: 6 * dim }, (_, i) => Math.sin(i));
  const recipe = { ...PAPER_RECIPE, epochs: 30, hidden: 64, lr: 0.01 };

  function torchRun(seed: number, dropout: number, sameBatches: boolean): number[] {
    const init = initMlpParams(textInit, dim, new Rng(seed), recipe.hidden);
    const spec = {
      dim, hidden: recipe.hidden, recipe: { ...recipe, dropout }, torchSeed: seed,
      init: { text: [...init.text], w1: [...init.w1], b1: [...init.b1], w2: [...init.w2], b2: [...init.b2] },
      train: { embeds: [...train.embeds], targets: [...train.targets] }, test: { embeds: [...test.embeds] },
      orders: sameBatches ? Array.from({ length: recipe.epochs }, (_, e) => epochRng(seed, e).permutation(split)) : null,
    };
    const r = python(['tools/train/torch_head.py'], { input: JSON.stringify(spec) });
    assert.equal(r.status, 0, r.stderr);
    return (JSON.parse(r.stdout) as { predictions: number[] }).predictions;
  }

  async function tsRun(seed: number, dropout: number): Promise<number[]> {
    const backend = await OrtBackend.create(1);
    try {
      const model = mlpHeadModel(textInit, dim, recipe.hidden);
      const params = await trainHead({ model, train, seed, backend, recipe: { ...recipe, dropout } });
      return headFromParams(model, params).score(test.embeds, test.targets.length);
    } finally {
      await backend.close();
    }
  }

  it('ends with the same test SRCC/PLCC (1e-3) from the same weights and batches, dropout off', async () => {
    const ours = evaluate(await tsRun(5, 0), [...test.targets]);
    const reference = evaluate(torchRun(5, 0, true), [...test.targets]);
    console.log(`dropout off: SRCC ours ${ours.srcc} PyTorch ${reference.srcc}; PLCC ours ${ours.plcc} PyTorch ${reference.plcc}`);
    assert.ok(Math.abs(ours.srcc - reference.srcc) <= 1e-3, `SRCC ${ours.srcc} vs PyTorch ${reference.srcc}`);
    assert.ok(Math.abs(ours.plcc - reference.plcc) <= 1e-3, `PLCC ${ours.plcc} vs PyTorch ${reference.plcc}`);
  });

  it('agrees on mean SRCC over 5 seeds (±0.01), dropout on, each with its own randomness', async () => {
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const seeds = [1, 2, 3, 4, 5];
    const ours = mean(await Promise.all(seeds.map(async (s) => evaluate(await tsRun(s, 0.5), [...test.targets]).srcc)));
    const reference = mean(seeds.map((s) => evaluate(torchRun(s, 0.5, false), [...test.targets]).srcc));
    console.log(`mean SRCC over 5 seeds, dropout 0.5: ours ${ours}, PyTorch ${reference}`);
    assert.ok(Math.abs(ours - reference) <= 0.01, `mean SRCC ${ours} vs PyTorch ${reference}`);
  });
});
