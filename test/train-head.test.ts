import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import {
  headFromParams, initMlpParams, JsBackend, learningRate, lossAndGradients, normaliseEmbeddings, OrtBackend, PAPER_RECIPE, PARAM_NAMES, Rng, spearman,
  trainMlpHead, type MlpParams,
} from '@clip-agiqa/train';

import { tempDir } from './helpers.js';

function randomArray(n: number, rng: Rng, scale = 1): Float32Array {
  return Float32Array.from({ length: n }, () => rng.uniform(-scale, scale));
}

/** Synthetic embeddings whose MOS depends smoothly on their direction, as quality does in CLIP space. */
function synthetic(n: number, dim: number, seed: number) {
  const rng = new Rng(seed);
  const direction = randomArray(dim, rng);
  const embeds = randomArray(n * dim, rng);
  const unit = normaliseEmbeddings(embeds, n, dim);
  const targets = Float64Array.from({ length: n }, (_, i) => {
    let s = 0;
    for (let k = 0; k < dim; k++) s += unit[i * dim + k]! * direction[k]!;
    return 2.5 + 2 * Math.tanh(s) + rng.uniform(-0.05, 0.05);
  });
  return { embeds, targets, textInit: randomArray(6 * dim, rng) };
}

describe('CLIP-AGIQA head training', () => {
  let ortBackend: OrtBackend;
  before(async () => {
    ortBackend = await OrtBackend.create(1);
  });
  after(async () => ortBackend.close());

  it('computes gradients that agree with finite differences, dropout on and off', async () => {
    const dim = 3, hidden = 4, batch = 5;
    const rng = new Rng(3);
    const params = initMlpParams(randomArray(6 * dim, rng), dim, rng, hidden);
    const images = normaliseEmbeddings(randomArray(batch * dim, rng), batch, dim);
    const targets = Array.from({ length: batch }, () => rng.uniform(0, 5));
    const js = new JsBackend();
    for (const withDropout of [false, true]) {
      const dropout = () => (withDropout ? { rate: 0.3, rng: new Rng(99) } : undefined); // same masks on every call
      const { grads } = await lossAndGradients(params, images, targets, js, dropout());
      for (const name of PARAM_NAMES) {
        for (let k = 0; k < params[name].length; k++) {
          const eps = 1e-3;
          const shifted = (delta: number) => {
            const p: MlpParams = { ...params, [name]: params[name].slice() };
            p[name][k]! += delta;
            return lossAndGradients(p, images, targets, js, dropout());
          };
          const numeric = ((await shifted(eps)).loss - (await shifted(-eps)).loss) / (2 * eps);
          const analytic = grads[name][k]!;
          assert.ok(Math.abs(numeric - analytic) <= 2e-3 * Math.max(1, Math.abs(numeric)), `${name}[${k}] dropout=${withDropout}: analytic ${analytic}, numeric ${numeric}`);
        }
      }
    }
  });

  it('gets the same step from ONNX Runtime as from the JavaScript reference', async () => {
    const dim = 16, batch = 32;
    const rng = new Rng(5);
    const params = initMlpParams(randomArray(6 * dim, rng), dim, rng);
    const images = normaliseEmbeddings(randomArray(batch * dim, rng), batch, dim);
    const targets = Array.from({ length: batch }, () => rng.uniform(0, 5));
    const a = await lossAndGradients(params, images, targets, new JsBackend(), { rate: 0.5, rng: new Rng(1) });
    const b = await lossAndGradients(params, images, targets, ortBackend, { rate: 0.5, rng: new Rng(1) });
    assert.ok(Math.abs(a.loss - b.loss) < 1e-5 * Math.max(1, a.loss));
    for (const name of PARAM_NAMES) {
      const worst = Math.max(...a.grads[name].map((v, k) => Math.abs(v - b.grads[name][k]!)));
      assert.ok(worst < 1e-5, `${name}: ${worst}`);
    }
  });

  it('follows the paper\'s schedule: one warm-up epoch at 1e-5, then a cosine from 0.002', () => {
    const r = { ...PAPER_RECIPE };
    assert.equal(learningRate(0, r), 1e-5);
    assert.equal(learningRate(1, r), 0.002);
    assert.ok(Math.abs(learningRate(50.5, r) - 0.001) < 1e-12);
    assert.ok(learningRate(99, r) < 1e-6);
  });

  it('learns a quality direction, scores held-out images through the scoring head, and is deterministic', async () => {
    const dim = 16;
    const data = synthetic(500, dim, 11);
    const split = 400;
    const train = { embeds: data.embeds.slice(0, split * dim), targets: data.targets.slice(0, split) };
    const recipe = { epochs: 30, lr: 0.05 };
    const losses: number[] = [];
    const params = await trainMlpHead({ train, dim, textInit: data.textInit, seed: 1, backend: ortBackend, recipe,
      onEpoch: (_, s) => void losses.push(s.trainLoss) });
    assert.ok(losses.at(-1)! < losses[1]! / 3, `loss ${losses[1]} -> ${losses.at(-1)}`);
    const head = headFromParams(params);
    const predictions = head.score(data.embeds.slice(split * dim), 100);
    const srcc = spearman(predictions, [...data.targets.slice(split)]);
    assert.ok(srcc > 0.85, `held-out SRCC ${srcc}`);

    // Without dropout, the training forward pass and the scoring head agree exactly.
    const images = normaliseEmbeddings(data.embeds.slice(0, 8 * dim), 8, dim);
    const step = await lossAndGradients(params, images, [...data.targets.slice(0, 8)], new JsBackend());
    const scored = head.score(data.embeds.slice(0, 8 * dim), 8);
    scored.forEach((s, i) => assert.ok(Math.abs(s - step.predictions[i]!) < 1e-5));

    const again = await trainMlpHead({ train, dim, textInit: data.textInit, seed: 1, backend: ortBackend, recipe });
    for (const name of PARAM_NAMES) assert.deepEqual(again[name], params[name], `${name} differs between two runs of one seed`);
  });

  it('resumes from a checkpoint exactly where it stopped', async () => {
    using t = tempDir();
    const dim = 8;
    const data = synthetic(120, dim, 4);
    const train = { embeds: data.embeds, targets: data.targets };
    const recipe = { epochs: 6 };
    const whole = await trainMlpHead({ train, dim, textInit: data.textInit, seed: 2, backend: ortBackend, recipe });
    const checkpoint = join(t.dir, 'run.ckpt');
    await trainMlpHead({ train, dim, textInit: data.textInit, seed: 2, backend: ortBackend, recipe, checkpoint, onEpoch: (epoch) => epoch < 2 });
    const resumed = await trainMlpHead({ train, dim, textInit: data.textInit, seed: 2, backend: ortBackend, recipe, checkpoint });
    for (const name of PARAM_NAMES) assert.deepEqual(resumed[name], whole[name], name);
    await assert.rejects(trainMlpHead({ train, dim, textInit: data.textInit, seed: 3, backend: ortBackend, recipe, checkpoint }), /another run/);
  });
});
