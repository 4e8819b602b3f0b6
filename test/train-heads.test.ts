import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import {
  anchoredHeadModel, epochBatches, evenLevelValues, headFromParams, JsBackend, learningRate, mlpHeadModel, normaliseEmbeddings, OrtBackend, PAPER_RECIPE, Rng,
  spearman, trainHead, type HeadModel, type Params,
} from '@clip-agiqa/train';

import { tempDir } from './support/helpers.js';

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

  /** Small models of both kinds, with parameters moved off their initialisation so every gradient is non-trivial. */
  function models(dim: number, rng: Rng): { model: HeadModel; params: Params }[] {
    const mlp = mlpHeadModel(randomArray(6 * dim, rng), dim, 4);
    const anchored = anchoredHeadModel({ dim, categories: ['overall', 'aesthetic'], levelInit: randomArray(2 * 6 * dim, rng),
      levelValues: evenLevelValues([0, 5]), rank: 4, logitScale: 8 });
    const anchoredParams = anchored.init(rng);
    anchoredParams.r2w = randomArray(4, rng);
    anchoredParams.weights = Float32Array.of(0.7, 0.4);
    anchoredParams.bias = Float32Array.of(0.3);
    return [{ model: mlp, params: mlp.init(rng) }, { model: anchored, params: anchoredParams }];
  }

  it('computes gradients that agree with finite differences, for both head kinds, dropout on and off', async () => {
    const dim = 3, batch = 5;
    const rng = new Rng(3);
    const images = normaliseEmbeddings(randomArray(batch * dim, rng), batch, dim);
    const targets = Array.from({ length: batch }, () => rng.uniform(0, 5));
    const js = new JsBackend();
    for (const { model, params } of models(dim, rng)) {
      for (const withDropout of [false, true]) {
        const dropout = () => (withDropout ? { rate: 0.3, rng: new Rng(99) } : undefined); // same masks on every call
        const { grads } = await model.lossAndGradients(params, images, targets, js, dropout());
        for (const name of model.paramNames) {
          for (let k = 0; k < params[name]!.length; k++) {
            const eps = 1e-3;
            const shifted = (delta: number) => {
              const p: Params = { ...params, [name]: params[name]!.slice() };
              p[name]![k]! += delta;
              return model.lossAndGradients(p, images, targets, js, dropout());
            };
            const numeric = ((await shifted(eps)).loss - (await shifted(-eps)).loss) / (2 * eps);
            const analytic = grads[name]![k]!;
            assert.ok(Math.abs(numeric - analytic) <= 2e-3 * Math.max(1, Math.abs(numeric)),
              `${model.kind} ${name}[${k}] dropout=${withDropout}: analytic ${analytic}, numeric ${numeric}`);
          }
        }
      }
    }
  });

  it('gets the same step from ONNX Runtime as from the JavaScript reference, for both head kinds', async () => {
    const dim = 16, batch = 32;
    const rng = new Rng(5);
    const images = normaliseEmbeddings(randomArray(batch * dim, rng), batch, dim);
    const targets = Array.from({ length: batch }, () => rng.uniform(0, 5));
    for (const { model, params } of models(dim, rng)) {
      const a = await model.lossAndGradients(params, images, targets, new JsBackend(), { rate: 0.5, rng: new Rng(1) });
      const b = await model.lossAndGradients(params, images, targets, ortBackend, { rate: 0.5, rng: new Rng(1) });
      assert.ok(Math.abs(a.loss - b.loss) < 1e-5 * Math.max(1, a.loss));
      for (const name of model.paramNames) {
        const worst = Math.max(...a.grads[name]!.map((v, k) => Math.abs(v - b.grads[name]![k]!)));
        assert.ok(worst < 1e-4 * Math.max(1, ...a.grads[name]!.map(Math.abs)), `${model.kind} ${name}: ${worst}`);
      }
    }
  });

  it('follows the official schedule: one warm-up epoch at 1e-5, then CosineAnnealingLR(T_max=100) from 0.002', () => {
    const r = { ...PAPER_RECIPE };
    assert.equal(learningRate(0, r), 1e-5);
    assert.equal(learningRate(1, r), 0.002);
    assert.ok(Math.abs(learningRate(51, r) - 0.001) < 1e-12);
    // Dassl steps the cosine once per epoch after the warm-up: the last epoch is at step 98 of 100, not at 0.
    assert.ok(Math.abs(learningRate(99, r) - 0.001 * (1 + Math.cos(0.98 * Math.PI))) < 1e-15);
    assert.ok(learningRate(99, r) > 1.9e-6);
  });

  it('drops the last partial batch as the official loader does, unless there is no full batch', () => {
    const order = Array.from({ length: 2385 }, (_, i) => i);
    const batches = epochBatches(order, 32);
    assert.equal(batches.length, 74);
    assert.ok(batches.every((b) => b.length === 32));
    assert.deepEqual(epochBatches([3, 1, 2], 32), [[3, 1, 2]]);
    assert.deepEqual(epochBatches([0, 1, 2, 3, 4], 2), [[0, 1], [2, 3]]);
  });

  for (const kind of ['clip-agiqa-mlp', 'clip-agiqa-anchored'] as const) {
    const makeModel = (dim: number, textInit: Float32Array) => (kind === 'clip-agiqa-mlp' ? mlpHeadModel(textInit, dim)
      : anchoredHeadModel({ dim, categories: ['overall'], levelInit: textInit, levelValues: evenLevelValues([0, 5]) }));

    it(`${kind}: learns a quality direction, scores held-out images through the scoring head, and is deterministic`, async () => {
      const dim = 16;
      const data = synthetic(500, dim, 11);
      const split = 400;
      const train = { embeds: data.embeds.slice(0, split * dim), targets: data.targets.slice(0, split) };
      const model = makeModel(dim, data.textInit);
      const recipe = { epochs: 30, lr: 0.05 };
      const losses: number[] = [];
      const params = await trainHead({ model, train, seed: 1, backend: ortBackend, recipe, onEpoch: (_, s) => void losses.push(s.trainLoss) });
      assert.ok(losses.at(-1)! < losses[1]! / 3, `loss ${losses[1]} -> ${losses.at(-1)}`);
      const head = headFromParams(model, params);
      assert.equal(head.kind, kind);
      const predictions = head.score(data.embeds.slice(split * dim), 100);
      const srcc = spearman(predictions, [...data.targets.slice(split)]);
      assert.ok(srcc > 0.85, `held-out SRCC ${srcc}`);

      // Without dropout, the training forward pass and the scoring head agree.
      const images = normaliseEmbeddings(data.embeds.slice(0, 8 * dim), 8, dim);
      const step = await model.lossAndGradients(params, images, [...data.targets.slice(0, 8)], new JsBackend());
      const scored = head.score(data.embeds.slice(0, 8 * dim), 8);
      scored.forEach((s, i) => assert.ok(Math.abs(s - step.predictions[i]!) < 1e-5, `${s} vs ${step.predictions[i]}`));

      const again = await trainHead({ model, train, seed: 1, backend: ortBackend, recipe });
      for (const name of model.paramNames) assert.deepEqual(again[name], params[name], `${name} differs between two runs of one seed`);
    });

    it(`${kind}: stops with TRAINING_DIVERGED when the loss is no longer finite`, async () => {
      const dim = 8;
      const data = synthetic(64, dim, 5);
      const train = { embeds: data.embeds, targets: data.targets.map((t) => t * 1e30) };
      const epochs: number[] = [];
      await assert.rejects(trainHead({ model: makeModel(dim, data.textInit), train, seed: 1, backend: ortBackend, recipe: { epochs: 20, lr: 10 },
        onEpoch: (e) => void epochs.push(e) }),
      (e: Error & { code?: string }) => e.code === 'TRAINING_DIVERGED' && /the training loss became (NaN|Infinity) in epoch \d+/.test(e.message));
      assert.ok(epochs.length < 20, 'training stopped');
    });

    it(`${kind}: resumes from a checkpoint exactly where it stopped`, async () => {
      using t = tempDir();
      const dim = 8;
      const data = synthetic(120, dim, 4);
      const train = { embeds: data.embeds, targets: data.targets };
      const model = makeModel(dim, data.textInit);
      const recipe = { epochs: 6 };
      const whole = await trainHead({ model, train, seed: 2, backend: ortBackend, recipe });
      const checkpoint = join(t.dir, 'run.ckpt');
      await trainHead({ model, train, seed: 2, backend: ortBackend, recipe, checkpoint, onEpoch: (epoch) => epoch < 2 });
      const resumed = await trainHead({ model, train, seed: 2, backend: ortBackend, recipe, checkpoint });
      for (const name of model.paramNames) assert.deepEqual(resumed[name], whole[name], name);
      await assert.rejects(trainHead({ model, train, seed: 3, backend: ortBackend, recipe, checkpoint }), /another run/);
    });
  }

  it('starts the anchored head at the zero-shot expected MOS of its level prompts', () => {
    const dim = 4;
    const rng = new Rng(8);
    const levelInit = randomArray(6 * dim, rng);
    const model = anchoredHeadModel({ dim, categories: ['overall'], levelInit, levelValues: evenLevelValues([1, 5]), logitScale: 10 });
    const image = randomArray(dim, rng);
    const [score] = headFromParams(model, model.init(new Rng(1))).score(image, 1);
    const unit = (v: Float32Array) => [...v].map((x) => x / Math.hypot(...v));
    const u = unit(image);
    const logits = [0, 1, 2, 3, 4, 5].map((l) => 10 * unit(levelInit.slice(l * dim, (l + 1) * dim)).reduce((a, x, k) => a + x * u[k]!, 0));
    const weights = logits.map(Math.exp);
    const expected = weights.reduce((a, w, l) => a + w * (1 + 0.8 * l), 0) / weights.reduce((a, b) => a + b, 0);
    assert.ok(Math.abs(score! - expected) < 1e-6, `${score} vs ${expected}`);
  });
});
