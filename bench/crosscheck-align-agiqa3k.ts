// The PyTorch cross-check of the alignment head on real data: AGIQA-3K's alignment MOS (the quick
// recipe's 500 images across generators, or --limit N), the bundle's cached image and prompt embeddings,
// the paper split over the subset, 100 epochs of the paper's recipe, in TypeScript and in
// tools/train/torch_align_head.py from the same initial weights. Dropout off with the same batch orders
// (the results should agree to float rounding), then dropout on with each side's own randomness.
//   node --import tsx bench/crosscheck-align-agiqa3k.ts --model DIR [--data DIR] [--cache DIR] [--limit N]
import { spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';

import { createScorer } from '@clip-agiqa/core';
import {
  alignHeadModel, embedDataset, embedPrompts, epochRng, evaluate, initAlignParams, loadAgiqa3k, OrtBackend, pairEmbeddings, PAPER_RECIPE,
  paperSplit, pickRows, Rng, rowScorer, stratifiedSubset, trainHead,
} from '@clip-agiqa/train';

const { values } = parseArgs({ options: {
  model: { type: 'string' }, data: { type: 'string', default: '../shared/datasets/agiqa-3k' },
  cache: { type: 'string', default: '.cache/embeddings' }, limit: { type: 'string', default: '500' }, python: { type: 'string', default: '.venv/bin/python' },
} });
if (!values.model) throw new Error('--model: a bundle with a text tower');
const dataset = stratifiedSubset(loadAgiqa3k(values.data), Number(values.limit));
const scorer = await createScorer({ model: values.model, onWarning: () => {} });
const embeddings = pairEmbeddings(await embedDataset(dataset, { scorer, cacheDir: values.cache }), await embedPrompts(dataset, { scorer, cacheDir: values.cache }));
const dim = scorer.model.embedDim;
await scorer.close();
const split = paperSplit(dataset.samples.length);
const mos = dataset.samples.map((s) => s.targets.alignment!);
const width = embeddings.dim;
const train = { embeds: pickRows(embeddings.test, split.train, width), targets: Float64Array.from(split.train.map((i) => mos[i]!)) };
const test = { rows: pickRows(embeddings.test, split.test, width), targets: split.test.map((i) => mos[i]!) };
const model = alignHeadModel(dim, PAPER_RECIPE.hidden);
const backend = await OrtBackend.create(1);
const seed = 42;

for (const dropout of [0, PAPER_RECIPE.dropout]) {
  const recipe = { ...PAPER_RECIPE, dropout };
  let started = performance.now();
  const params = await trainHead({ model, train, seed, backend, recipe });
  const ours = evaluate(rowScorer(model, params, 'alignment')(test.rows, test.targets.length), test.targets);
  const oursSeconds = (performance.now() - started) / 1000;
  const init = initAlignParams(dim, new Rng(seed), recipe.hidden);
  const spec = {
    dim, hidden: recipe.hidden, recipe, torchSeed: seed,
    orders: dropout === 0 ? Array.from({ length: recipe.epochs }, (_, e) => epochRng(seed, e).permutation(split.train.length)) : null,
    init: { w1: [...init.w1], b1: [...init.b1], w2: [...init.w2], b2: [...init.b2] },
    train: { rows: [...train.embeds], targets: [...train.targets] }, test: { rows: [...test.rows] },
  };
  started = performance.now();
  const r = spawnSync(values.python, ['tools/train/torch_align_head.py'], { input: JSON.stringify(spec), encoding: 'utf8', maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(r.stderr);
  const torch = evaluate((JSON.parse(r.stdout) as { predictions: number[] }).predictions, test.targets);
  const torchSeconds = (performance.now() - started) / 1000;
  console.log(`dropout ${dropout}${dropout === 0 ? ', same batches' : ', own randomness'}: ${split.train.length} train / ${split.test.length} test, `
    + `SRCC TypeScript ${ours.srcc.toFixed(5)} PyTorch ${torch.srcc.toFixed(5)} (Δ ${Math.abs(ours.srcc - torch.srcc).toFixed(5)}), `
    + `PLCC TypeScript ${ours.plcc.toFixed(5)} PyTorch ${torch.plcc.toFixed(5)} (Δ ${Math.abs(ours.plcc - torch.plcc).toFixed(5)}); `
    + `${oursSeconds.toFixed(0)} s / ${torchSeconds.toFixed(0)} s`);
}
await backend.close();
