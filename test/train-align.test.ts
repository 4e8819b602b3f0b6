// Training the alignment head: its gradients, the prompt embeddings it trains on (cached), the datasets'
// alignment ratings, what a bundle keeps when a head is added, and `clip-agiqa train --target align`.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import { createScorer, DEMO_MODEL_DIR, loadBundle, type ModelBundleManifest } from '@clip-agiqa/core';
import {
  alignHeadModel, alignLossAndGradients, DatasetError, embedPrompts, initAlignParams, JsBackend, loadAigciqa2023Csv, mlpHeadModel, normalisePairs,
  pairEmbeddings, PAPER_RECIPE, Rng, rowScorer, samplePrompts, trainHead, writeTrainedBundle, type AlignParams, type Dataset,
} from '@clip-agiqa/train';

import { LABELS } from './support/datasets.js';
import { CLI, IMAGES, tempDir, twoHeadBundle } from './support/helpers.js';

const backend = new JsBackend();

describe('alignment head training', () => {
  it('has the gradients of its MSE loss (finite differences, dropout off)', async () => {
    const dim = 6;
    const rng = new Rng(3); // no pre-activation within the step of 0, where ReLU has no derivative
    const p = initAlignParams(dim, rng, 5);
    const pairs = normalisePairs(Float32Array.from({ length: 4 * 2 * dim }, () => rng.uniform(-1, 1)), 4, dim);
    const targets = [0.5, 2, 3.5, 1];
    const { grads, loss } = await alignLossAndGradients(p, pairs, targets, backend);
    const lossAt = async (q: AlignParams) => (await alignLossAndGradients(q, pairs, targets, backend)).loss;
    for (const name of ['w1', 'b1', 'w2', 'b2'] as const) {
      for (const k of [0, Math.floor(p[name].length / 2), p[name].length - 1]) {
        const h = 1e-3;
        const up = { ...p, [name]: p[name].slice() };
        up[name][k]! += h;
        const down = { ...p, [name]: p[name].slice() };
        down[name][k]! -= h;
        const numeric = ((await lossAt(up)) - (await lossAt(down))) / (2 * h);
        assert.ok(Math.abs(numeric - grads[name]![k]!) < 2e-3 * Math.max(1, Math.abs(numeric)), `${name}[${k}]: ${grads[name]![k]} vs ${numeric} (loss ${loss})`);
      }
    }
  });

  it('learns a rating that follows the agreement of image and prompt, and scores as the bundle head will', async () => {
    const dim = 8;
    const rng = new Rng(9);
    const n = 256;
    const rows = Float32Array.from({ length: n * 2 * dim }, () => rng.uniform(-1, 1));
    const unit = normalisePairs(rows, n, dim);
    const targets = Float64Array.from({ length: n }, (_, i) => {
      let cos = 0;
      for (let k = 0; k < dim; k++) cos += unit[i * 2 * dim + k]! * unit[i * 2 * dim + dim + k]!;
      return 2.5 + 2 * cos;
    });
    const model = alignHeadModel(dim, 32);
    const losses: number[] = [];
    const params = await trainHead({ model, train: { embeds: rows, targets }, seed: 1, backend, recipe: { ...PAPER_RECIPE, epochs: 40, lr: 0.05, dropout: 0 },
      onEpoch: (_, s) => void losses.push(s.trainLoss) });
    assert.ok(losses.at(-1)! < losses[0]! / 4, `loss ${losses[0]} -> ${losses.at(-1)}`);
    const predictions = rowScorer(model, params, 'alignment')(rows, n);
    const error = predictions.reduce((s, p, i) => s + (p - targets[i]!) ** 2, 0) / n;
    assert.ok(Math.abs(error - losses.at(-1)!) < losses.at(-1)!, `the scorer's MSE ${error} is the training loss' order (${losses.at(-1)})`);
  });
});

/** A dataset of the fixture images with prompts (two images share one), in the loaders' shape. */
function fixtureDataset(prompts: (string | undefined)[]): Dataset {
  const names = ['square.png', 'landscape.jpg', 'portrait.jpg'];
  return { name: 'fixtures', targets: ['alignment'], scale: [0, 5], samples: prompts.map((prompt, i) => ({
    id: `img${i}`, path: join(IMAGES, names[i % names.length]!), targets: { alignment: i }, ...(prompt === undefined ? {} : { prompt }),
  })) };
}

describe('prompt embeddings for training', () => {
  it('are the text tower\'s, one encoding per distinct prompt, read back from the cache by the next run', async () => {
    using t = tempDir();
    const dataset = fixtureDataset(['a red cube', 'a mountain lake', 'a red cube']);
    const first = await createScorer({ model: DEMO_MODEL_DIR });
    let texts: Float32Array;
    try {
      texts = await embedPrompts(dataset, { scorer: first, cacheDir: t.dir });
      assert.equal(first.stats().texts, 2, 'two distinct prompts');
      const dim = first.model.embedDim;
      assert.deepEqual(texts.subarray(0, dim), await first.embedText('a red cube'));
      assert.deepEqual(texts.subarray(2 * dim, 3 * dim), texts.subarray(0, dim));
      const images = { dim, test: Float32Array.from({ length: 3 * dim }, (_, i) => i), train: [] };
      const paired = pairEmbeddings(images, texts);
      assert.equal(paired.dim, 2 * dim);
      assert.deepEqual(paired.test.subarray(2 * dim, 3 * dim), images.test.subarray(dim, 2 * dim), 'row 1 starts with image 1');
      assert.deepEqual(paired.test.subarray(3 * dim, 4 * dim), texts.subarray(dim, 2 * dim), 'then prompt 1');
    } finally {
      await first.close();
    }
    const second = await createScorer({ model: DEMO_MODEL_DIR });
    try {
      assert.deepEqual(await embedPrompts(dataset, { scorer: second, cacheDir: t.dir }), texts);
      assert.equal(second.stats().texts, 0, 'every prompt from the cache');
      const [root] = readdirSync(t.dir);
      assert.match(root!, /-text$/);
      assert.equal(readdirSync(join(t.dir, root!)).length, 2);
    } finally {
      await second.close();
    }
  });

  it('refuse images without a prompt, and a model without a text tower', async () => {
    assert.throws(() => samplePrompts(fixtureDataset(['a', undefined, ' '])), (e: unknown) => e instanceof DatasetError && /2 of 3 images have no prompt \(img1, img2\)/.test(e.message));
    using t = tempDir();
    const scorer = await createScorer({ model: twoHeadBundle(join(t.dir, 'b')) });
    try {
      await assert.rejects(embedPrompts(fixtureDataset(['a']), { scorer, cacheDir: t.dir }), { code: 'INVALID_ARGUMENT', message: /has no text tower/ });
    } finally {
      await scorer.close();
    }
  });

  it('AIGCIQA2023\'s alignment ratings are its correspondence MOS, each with the prompt of its image (real label file)', { skip: existsSync(LABELS) ? false : 'no label files beside the project' }, () => {
    const data = loadAigciqa2023Csv(join(LABELS, 'aigciqa2023/aigciqa2023_index_mos100.csv'), '/absent', { checkImages: false });
    assert.equal(data.samples.length, 2400);
    assert.ok(data.targets.includes('correspondence'));
    const prompts = samplePrompts(data);
    assert.equal(new Set(prompts).size, 100);
    assert.deepEqual([data.samples[0]!.id, prompts[0], data.samples[0]!.targets.correspondence], ['Controlnet/000-1.png', 'a corgi', 59.98587334926369]);
    assert.deepEqual([data.samples[2399]!.id, prompts[2399]], ['Unidiffuser/099-4.png', 'An aerial view of Ha Long Bay without any boats']);
    const mos = data.samples.map((s) => s.targets.correspondence!);
    assert.ok(Math.min(...mos) > 27 && Math.max(...mos) < 73, 'the 0-100 scale');
  });
});

describe('bundles with trained quality and alignment heads', () => {
  it('keep the other role\'s heads: adding alignment keeps quality, training quality again keeps alignment', async () => {
    using t = tempDir();
    const demo = await loadBundle(DEMO_MODEL_DIR);
    const dim = demo.manifest.backbone.embed_dim;
    const training = { dataset: 'test', target: 't', protocol: 'none', metrics: {} };
    const align = alignHeadModel(dim, 8);
    const withAlign = await writeTrainedBundle(demo, join(t.dir, 'a'), [{ name: 'alignment', model: align, params: initAlignParams(dim, new Rng(1), 8), scoreRange: [0, 5], promptTemplate: '', training }], 'a');
    const names = (b: { manifest: ModelBundleManifest }) => b.manifest.heads.map((h) => `${h.name}:${h.kind}`);
    assert.deepEqual(names(withAlign), ['quality:clip-agiqa-mlp', 'alignment:clip-agiqa-align']);
    const quality = mlpHeadModel(new Float32Array(6 * dim).fill(0.1), dim, 8);
    const again = await writeTrainedBundle(withAlign, join(t.dir, 'b'), [{ name: 'sharpness', model: quality, params: quality.init(new Rng(2)), scoreRange: [0, 5], promptTemplate: 'a photo of {level} quality.', training }], 'b');
    assert.deepEqual(names(again), ['sharpness:clip-agiqa-mlp', 'alignment:clip-agiqa-align'], 'a new quality head replaces the old one, the alignment head stays');
    assert.equal(again.manifest.heads[1]!.training?.dataset, 'test');
    const realigned = await writeTrainedBundle(again, join(t.dir, 'c'), [{ name: 'alignment', model: align, params: initAlignParams(dim, new Rng(5), 8), scoreRange: [0, 5], promptTemplate: '', training }], 'c');
    assert.deepEqual(names(realigned), ['sharpness:clip-agiqa-mlp', 'alignment:clip-agiqa-align']);
    assert.notEqual(realigned.manifest.files['heads/alignment.safetensors']!.sha256, again.manifest.files['heads/alignment.safetensors']!.sha256, 'the new alignment head');
  });
});

describe('clip-agiqa train --target align', () => {
  /** A tiny AGIQA-3K: data.csv in the release's columns and images/, three generators, four prompts. */
  function agiqa3kFolder(dir: string): string {
    mkdirSync(join(dir, 'images'), { recursive: true });
    const names = ['landscape.jpg', 'portrait.jpg', 'square.png', 'wide.webp', 'grey.png', 'small-upscaled.jpg'];
    const rows = ['AttnGAN', 'sd1.5', 'midjourney'].flatMap((generator, g) => names.flatMap((n, i) => [0, 1].map((copy) => {
      const file = `${generator}_normal_${i}${copy}.jpg`;
      copyFileSync(join(IMAGES, n), join(dir, 'images', file));
      return `${file},a picture of thing ${i % 4},,,,${(g + i * 0.4) % 5},0.5,${(i * 0.7 + copy * 0.2 + g * 0.1) % 5},0.4`;
    })));
    writeFileSync(join(dir, 'data.csv'), `name,prompt,adj1,adj2,style,mos_quality,std_quality,mos_align,std_align\n${rows.join('\n')}\n`);
    return dir;
  }
  const cli = (args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });

  it('--quick trains the alignment head on image and prompt, reports SRCC/PLCC, and --out scores with quality and alignment heads', async () => {
    using t = tempDir();
    const data = agiqa3kFolder(join(t.dir, 'agiqa-3k'));
    const out = join(t.dir, 'bundle');
    const r = cli(['train', '--dataset', 'agiqa-3k', '--data', data, '--target', 'align', '--quick', '--limit', '24', '--epochs', '3',
      '--out', out, '--report', join(t.dir, 'report.json'), '--cache', join(t.dir, 'cache')]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /24 images, target align \(alignment, scored against each image's prompt\)/);
    assert.match(r.stdout, /CLIP-AGIQA head \(clip-agiqa-align\) on AGIQA-3K \(alignment\)/);
    const report = JSON.parse(readFileSync(join(t.dir, 'report.json'), 'utf8')) as { target: string; head: string; run: { last: { metrics: { srcc: number; plcc: number } }; sizes: { train: number } } };
    assert.deepEqual([report.target, report.head, report.run.sizes.train], ['alignment', 'clip-agiqa-align', 19]);
    assert.ok(Number.isFinite(report.run.last.metrics.srcc) && Number.isFinite(report.run.last.metrics.plcc));
    assert.ok(readdirSync(join(t.dir, 'cache')).some((d) => d.endsWith('-text')), 'prompt embeddings cached');

    const bundle = await loadBundle(out);
    assert.deepEqual(bundle.manifest.heads.map((h) => [h.name, h.kind, h.input ?? 'image']), [['quality', 'clip-agiqa-mlp', 'image'], ['alignment', 'clip-agiqa-align', 'image+prompt']]);
    assert.equal(bundle.manifest.heads[1]!.training?.target, 'alignment');
    const scorer = await createScorer({ model: bundle, onWarning: () => {} });
    try {
      const image = join(data, 'images', 'sd1.5_normal_00.jpg');
      assert.deepEqual(Object.keys((await scorer.score(image, { prompt: 'a picture of thing 0' })).scores), ['quality', 'clipscore', 'alignment']);
      assert.deepEqual(Object.keys((await scorer.score(image)).scores), ['quality']);
    } finally {
      await scorer.close();
    }
    const scored = cli(['score', '--model', out, '--json', '--no-progress', '--prompt', 'a picture of thing 0', join(data, 'images', 'sd1.5_normal_00.jpg')]);
    assert.equal(scored.status, 0, scored.stderr);
    assert.deepEqual(Object.keys((JSON.parse(scored.stdout) as { scores: object }).scores), ['quality', 'clipscore', 'alignment']);
  });

  it('refuses a model without a text tower, another head kind, and datasets without alignment ratings', () => {
    using t = tempDir();
    const data = agiqa3kFolder(join(t.dir, 'agiqa-3k'));
    const base = ['train', '--dataset', 'agiqa-3k', '--data', data, '--target', 'align', '--quick', '--limit', '6', '--epochs', '1', '--report', join(t.dir, 'r.json'), '--cache', join(t.dir, 'cache')];
    const noText = cli([...base, '--model', twoHeadBundle(join(t.dir, 'two'))]);
    assert.equal(noText.status, 2, noText.stderr);
    assert.match(noText.stderr, /--target align reads prompts, and the model \S+ has no text tower/);
    const anchored = cli([...base, '--head', 'anchored']);
    assert.equal(anchored.status, 2);
    assert.match(anchored.stderr, /--target align trains the alignment head: leave out --head/);
    writeFileSync(join(t.dir, 'ratings.csv'), `path,mos,prompt\n${join(IMAGES, 'square.png')},3,a square\n`);
    const csv = cli(['train', '--dataset', 'csv', '--data', join(t.dir, 'ratings.csv'), '--target', 'align', '--epochs', '1', '--report', join(t.dir, 'r.json')]);
    assert.equal(csv.status, 2);
    assert.match(csv.stderr, /--target align: \S+ has no text-image alignment ratings \(it has quality\)/);
  });
});
