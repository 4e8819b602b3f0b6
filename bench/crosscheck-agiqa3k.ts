// The PyTorch cross-check of the paper's head at full scale, dropout on: AGIQA-3K's paper split
// (seed 42), the bundle's cached test-view embeddings, 100 epochs of the paper's recipe, five seeds
// each in TypeScript and in tools/train/torch_head.py (own shuffles and dropout masks). Prints the
// mean test SRCC of both; they should agree within 0.01.
//   node --import tsx bench/crosscheck-agiqa3k.ts [--model DIR] [--data DIR] [--cache DIR] [--seeds N]
import { spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';

import { createScorer } from '@clip-agiqa/core';
import {
  embedDataset, evaluate, headFromParams, initMlpParams, levelPromptEmbeddings, loadAgiqa3k, mean, mlpHeadModel, OrtBackend, PAPER_RECIPE, pickRows,
  randomSplit, Rng, trainHead,
} from '@clip-agiqa/train';

const { values } = parseArgs({ options: {
  model: { type: 'string', default: '.cache/bench/vit-b-16' }, data: { type: 'string', default: '../shared/datasets/agiqa-3k' },
  cache: { type: 'string', default: '.cache/embeddings' }, seeds: { type: 'string', default: '5' },
} });
const dataset = loadAgiqa3k(values.data);
const scorer = await createScorer({ model: values.model });
const embeddings = await embedDataset(dataset, { scorer, cacheDir: values.cache });
const textInit = await levelPromptEmbeddings(scorer.bundle);
await scorer.close();
const { dim } = embeddings;
const split = randomSplit(dataset.samples.length, 42, 0.2, 0);
const pick = (idx: number[]) => pickRows(embeddings.test, idx, dim);
const mos = dataset.samples.map((s) => s.targets.quality!);
const train = { embeds: pick(split.train), targets: Float64Array.from(split.train.map((i) => mos[i]!)) };
const test = { embeds: pick(split.test), targets: split.test.map((i) => mos[i]!) };
const recipe = { ...PAPER_RECIPE };
const model = mlpHeadModel(textInit, dim, recipe.hidden);
const backend = await OrtBackend.create(1);
const ours: number[] = [];
const torch: number[] = [];
for (let seed = 1; seed <= Number(values.seeds); seed++) {
  let started = performance.now();
  const params = await trainHead({ model, train, seed, backend, recipe });
  ours.push(evaluate(headFromParams(model, params).score(test.embeds, test.targets.length), test.targets).srcc);
  const oursSeconds = (performance.now() - started) / 1000;
  const init = initMlpParams(textInit, dim, new Rng(seed), recipe.hidden);
  const spec = {
    dim, hidden: recipe.hidden, recipe, torchSeed: seed, orders: null,
    init: { text: [...init.text], w1: [...init.w1], b1: [...init.b1], w2: [...init.w2], b2: [...init.b2] },
    train: { embeds: [...train.embeds], targets: [...train.targets] }, test: { embeds: [...test.embeds] },
  };
  started = performance.now();
  const r = spawnSync('python3', ['tools/train/torch_head.py'], { input: JSON.stringify(spec), encoding: 'utf8', maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(r.stderr);
  torch.push(evaluate((JSON.parse(r.stdout) as { predictions: number[] }).predictions, test.targets).srcc);
  console.log(`seed ${seed}: SRCC TypeScript ${ours.at(-1)!.toFixed(4)} (${oursSeconds.toFixed(0)} s), PyTorch ${torch.at(-1)!.toFixed(4)} ` +
    `(${((performance.now() - started) / 1000).toFixed(0)} s)`);
}
await backend.close();
console.log(`dropout 0.5, ${ours.length} seeds, ${recipe.epochs} epochs: mean test SRCC TypeScript ${mean(ours).toFixed(4)}, ` +
  `PyTorch ${mean(torch).toFixed(4)}, difference ${Math.abs(mean(ours) - mean(torch)).toFixed(4)}`);
