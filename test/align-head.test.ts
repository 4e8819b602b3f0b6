// The trained alignment head (clip-agiqa-align): its math, how bundles declare and refuse it, and how
// the scorer gives its score beside clipscore when an image has a prompt, and not otherwise.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import { BundleError, createScorer, DEMO_MODEL_DIR, loadBundle, type HeadEntry, type Tensor } from '@clip-agiqa/core';
import { createPromptHead } from '@clip-agiqa/core/internal';
import { alignHeadModel, initAlignParams, Rng, writeTrainedBundle } from '@clip-agiqa/train';

import { IMAGES, tempDir } from './support/helpers.js';

const ENTRY: HeadEntry = {
  name: 'alignment', kind: 'clip-agiqa-align', input: 'image+prompt', file: 'heads/alignment.safetensors', score_range: [0, 5], higher_is_better: true, trained: true,
  tensors: { fc1_weight: 'fc1.weight', fc1_bias: 'fc1.bias', fc2_weight: 'fc2.weight', fc2_bias: 'fc2.bias' },
};

function tensors(dim: number, hidden: number, rng: Rng): Map<string, Tensor> {
  const random = (n: number) => Float32Array.from({ length: n }, () => rng.uniform(-1, 1));
  return new Map([
    ['fc1.weight', { shape: [hidden, 3 * dim], data: random(hidden * 3 * dim) }], ['fc1.bias', { shape: [hidden], data: random(hidden) }],
    ['fc2.weight', { shape: [1, hidden], data: random(hidden) }], ['fc2.bias', { shape: [1], data: random(1) }],
  ]);
}

/** The head's formula written out term by term, in float64, from the raw tensors. */
function recompute(t: Map<string, Tensor>, image: Float32Array, text: Float32Array): number {
  const d = image.length;
  const norm = (x: Float32Array) => Math.hypot(...x);
  const v = [...image].map((x) => x / norm(image));
  const u = [...text].map((x) => x / norm(text));
  const w1 = t.get('fc1.weight')!;
  const hidden = w1.shape[0]!;
  let score = t.get('fc2.bias')!.data[0]!;
  for (let j = 0; j < hidden; j++) {
    const w = (block: number, k: number) => w1.data[j * 3 * d + block * d + k]!;
    let pre = t.get('fc1.bias')!.data[j]!;
    for (let k = 0; k < d; k++) pre += w(0, k) * v[k]! + w(1, k) * u[k]! + w(2, k) * v[k]! * u[k]!;
    score += t.get('fc2.weight')!.data[j]! * Math.max(pre, 0);
  }
  return score;
}

/** The demo bundle (it has a text tower) with an alignment head of random weights, written as training writes one. */
async function alignBundle(out: string) {
  const source = await loadBundle(DEMO_MODEL_DIR);
  const dim = source.manifest.backbone.embed_dim;
  const model = alignHeadModel(dim, 16);
  await writeTrainedBundle(source, out, [{
    name: 'alignment', model, params: initAlignParams(dim, new Rng(3), 16), scoreRange: [0, 5], promptTemplate: '',
    training: { dataset: 'test', target: 'alignment', protocol: 'none', metrics: {} },
  }], 'demo-with-alignment');
  return out;
}

describe('clip-agiqa-align head', () => {
  it('scores [v || t || v*t] through Linear, ReLU, Linear as the formula written out does', () => {
    const rng = new Rng(7);
    const t = tensors(24, 10, rng);
    const head = createPromptHead(ENTRY, t, 24, 'test');
    for (let trial = 0; trial < 5; trial++) {
      const image = Float32Array.from({ length: 24 }, () => rng.uniform(-3, 3));
      const text = Float32Array.from({ length: 24 }, () => rng.uniform(-1, 1));
      const expected = recompute(t, image, text);
      assert.ok(Math.abs(head.scorePair(image, text) - expected) < 1e-9 * Math.max(1, Math.abs(expected)), `${head.scorePair(image, text)} vs ${expected}`);
    }
    assert.deepEqual([head.name, head.kind, head.trained, head.provenance, head.higherIsBetter], ['alignment', 'clip-agiqa-align', true, 'trained', true]);
  });

  it('holds CLIPScore: with only the v*t block summed and no bias it reads max(cos(v, t), 0)', () => {
    const d = 16;
    const w1 = new Float32Array(3 * d);
    w1.fill(1, 2 * d);
    const t = new Map<string, Tensor>([
      ['fc1.weight', { shape: [1, 3 * d], data: w1 }], ['fc1.bias', { shape: [1], data: new Float32Array(1) }],
      ['fc2.weight', { shape: [1, 1], data: Float32Array.of(1) }], ['fc2.bias', { shape: [1], data: new Float32Array(1) }],
    ]);
    const head = createPromptHead(ENTRY, t, d, 'test');
    const rng = new Rng(1);
    for (let trial = 0; trial < 5; trial++) {
      const a = Float32Array.from({ length: d }, () => rng.uniform(-1, 1));
      const b = Float32Array.from({ length: d }, () => rng.uniform(-1, 1));
      const cos = a.reduce((s, x, k) => s + x * b[k]!, 0) / Math.hypot(...a) / Math.hypot(...b);
      assert.ok(Math.abs(head.scorePair(a, b) - Math.max(cos, 0)) < 1e-6);
    }
  });

  it('refuses embeddings of another size, and tensors of the wrong shape', () => {
    const head = createPromptHead(ENTRY, tensors(8, 4, new Rng(2)), 8, 'test');
    assert.throws(() => head.scorePair(new Float32Array(8), new Float32Array(9)), { code: 'SHAPE_MISMATCH' });
    assert.throws(() => createPromptHead(ENTRY, tensors(8, 4, new Rng(2)), 9, 'x.safetensors'), (e: unknown) => e instanceof BundleError && e.code === 'BAD_TENSOR' && /\[4,24\]/.test(e.message));
  });
});

describe('bundles with an alignment head', () => {
  it('load it as a prompt head beside the quality heads; one without a text tower is refused', async () => {
    using t = tempDir();
    const bundle = await loadBundle(await alignBundle(join(t.dir, 'b')));
    assert.deepEqual(bundle.heads.map((h) => h.name), ['quality']);
    assert.deepEqual(bundle.promptHeads.map((h) => [h.name, h.kind]), [['alignment', 'clip-agiqa-align']]);
    assert.equal(bundle.manifest.heads.find((h) => h.name === 'alignment')!.input, 'image+prompt');

    const path = join(t.dir, 'b', 'manifest.json');
    const manifest = JSON.parse(readFileSync(path, 'utf8')) as { text_encoder?: unknown; heads: { name: string; input?: string }[] };
    writeFileSync(path, JSON.stringify({ ...manifest, text_encoder: undefined }));
    await assert.rejects(loadBundle(join(t.dir, 'b')), (e: unknown) => e instanceof BundleError && e.code === 'SCHEMA_VIOLATION'
      && /head alignment \(clip-agiqa-align\) scores an image against its prompt, and the bundle has no text tower/.test(e.message));

    writeFileSync(path, JSON.stringify({ ...manifest, heads: manifest.heads.map((h) => ({ ...h, input: undefined })) }));
    await assert.rejects(loadBundle(join(t.dir, 'b')), (e: unknown) => e instanceof BundleError && e.code === 'SCHEMA_VIOLATION' && /input/.test(e.message),
      'an alignment head must say it reads prompts');

    writeFileSync(path, JSON.stringify({ ...manifest, heads: manifest.heads.filter((h) => h.name === 'alignment') }));
    await assert.rejects(loadBundle(join(t.dir, 'b')), /no head that scores an image alone/);
  });
});

describe('scoring with an alignment head', () => {
  it('gives its score beside clipscore for an image with a prompt, and neither without one', async () => {
    using t = tempDir();
    const bundle = await loadBundle(await alignBundle(join(t.dir, 'b')));
    const scorer = await createScorer({ model: bundle, onWarning: () => {} });
    try {
      assert.deepEqual(scorer.model.heads.map((h) => [h.name, h.needsPrompt, h.trained]), [['quality', false, false], ['clipscore', true, false], ['alignment', true, true]]);
      const image = join(IMAGES, 'square.png');
      const prompt = 'a red square on a white table';
      const withPrompt = await scorer.score(image, { prompt });
      assert.deepEqual(Object.keys(withPrompt.scores), ['quality', 'clipscore', 'alignment']);
      const expected = bundle.promptHeads[0]!.scorePair(await scorer.embed(image), await scorer.embedText(prompt));
      assert.equal(withPrompt.scores.alignment, expected);
      assert.notEqual(withPrompt.scores.alignment, withPrompt.scores.clipscore);

      const without = await scorer.score(image);
      assert.deepEqual(Object.keys(without.scores), ['quality']);
      await assert.rejects(scorer.rank([image], { head: 'alignment' }).then((r) => {
        throw r.failed[0]!.error;
      }), { code: 'PROMPT_REQUIRED' });
      const ranked = await scorer.rank([image, join(IMAGES, 'landscape.jpg')], { head: 'alignment', prompt });
      assert.equal(ranked.ranked.length, 2);
      assert.ok(ranked.ranked[0]!.scores.alignment! >= ranked.ranked[1]!.scores.alignment!);
    } finally {
      await scorer.close();
    }
  });
});
