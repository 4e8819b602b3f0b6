import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { createScorer, InputError, isFailure, type Scorer } from '@clip-agiqa/core';
import { importModel } from '@clip-agiqa/core/import';
import { ClipTokenizer } from '@clip-agiqa/core/internal';

import { copyDemoBundle, goldenPixels, python, pythonUnavailable, tempDir } from './support/helpers.js';

const skip = pythonUnavailable() ?? false;
const LONG = Array.from({ length: 100 }, (_, i) => `word${i % 7}`).join(' ');
const PROMPTS = ['a photo of a cat', 'A   Photo\tOF a dog, sitting on a mat!!', 'café naïve Ωmega 東京 😀', LONG];

interface TextReference {
  input_ids: number[][];
  tokens: number[];
  text_features: number[][];
  clipscore: { hessel: number[]; torchmetrics: number[] };
}

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

/** A seeded random CLIP of `arch` exported in the transformers.js layout, imported as a bundle, and its PyTorch save. */
function exportFixture(arch: string, work: string): { model: string; torch: string } {
  const model = join(work, 'model');
  const torch = join(work, 'torch');
  const r = python(['tools/export', '--random', arch, '--seed', '5', '--layout', 'transformers-js', '--out', model, '--save-torch', torch]);
  assert.equal(r.status, 0, r.stderr);
  return { model, torch };
}

function reference(torch: string, model: string, pairs: { image: number[]; text: number[] }[]): TextReference {
  const r = python(['test/python/text_reference.py', torch, model], { input: JSON.stringify({ prompts: PROMPTS, pairs }) });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as TextReference;
}

for (const arch of ['tiny', 'vit-b-16']) {
  describe(`prompts on a ${arch} CLIP imported from the transformers.js layout`, { skip }, () => {
    let work: string;
    let fixture: { model: string; torch: string };
    let bundle: string;
    before(async () => {
      work = mkdtempSync(join(tmpdir(), `clip-agiqa-prompt-${arch}-`));
      fixture = exportFixture(arch, work);
      bundle = join(work, 'bundle');
      await importModel(fixture.model, { out: bundle, precisions: [] });
    });
    after(() => rmSync(work, { recursive: true, force: true }));

    it('text embeddings equal transformers\' get_text_features to 1e-5; clipscore equals numpy to 1e-6; long prompts are cut as CLIPTokenizer cuts them, with a warning', async (t) => {
      const warnings: string[] = [];
      const scorer = await createScorer({ model: bundle, onWarning: (m) => warnings.push(m) });
      const metres = await createScorer({ model: bundle, clipScore: 'torchmetrics', onWarning: () => undefined });
      try {
        const size = scorer.model.imageSize;
        const images = [...goldenPixels().values()].slice(0, 4).map((data) => ({ data, width: size, height: size, channels: 3 as const }));
        const texts = await Promise.all(PROMPTS.map((p) => scorer.embedText(p)));
        const imageEmbeds = await Promise.all(images.map((image) => scorer.embed(image)));
        const pairs = images.map((image, i) => ({ image: { image, prompt: PROMPTS[i]! }, i }));
        const scored = await scorer.score(pairs.map((p) => p.image));
        const torchmetrics = await metres.score(pairs.map((p) => p.image));
        const ref = reference(fixture.torch, fixture.model, pairs.map(({ i }) => ({ image: [...imageEmbeds[i]!], text: [...texts[i]!] })));

        const textDiff = Math.max(...texts.map((e, i) => maxDiff(e, ref.text_features[i]!)));
        assert.ok(textDiff <= 1e-5, `text embeddings differ from get_text_features by ${textDiff}`);
        let scoreDiff = 0;
        scored.forEach((o, i) => {
          assert.ok(!isFailure(o), String(!isFailure(o) || o.error));
          const m = torchmetrics[i]!;
          assert.ok(!isFailure(m));
          assert.equal(o.prompt, PROMPTS[i]);
          scoreDiff = Math.max(scoreDiff, Math.abs(o.scores.clipscore! - ref.clipscore.hessel[i]!), Math.abs(m.scores.clipscore! - ref.clipscore.torchmetrics[i]!));
        });
        assert.ok(scoreDiff <= 1e-6, `clipscore differs from numpy by ${scoreDiff}`);
        t.diagnostic(`max |diff|: text embeddings vs get_text_features ${textDiff.toExponential(2)}, clipscore vs numpy ${scoreDiff.toExponential(2)}`);

        const te = scorer.bundle.manifest.text_encoder!;
        const tokenizer = await ClipTokenizer.fromFiles(join(bundle, te.tokenizer.vocab), join(bundle, te.tokenizer.merges));
        PROMPTS.forEach((p, i) => assert.deepEqual(tokenizer.tokenizeText(p, te.context_length).ids, ref.input_ids[i], `token ids of prompt ${i}`));
        assert.ok(ref.tokens[3]! > 77 && ref.input_ids[3]!.length === 77, 'the long prompt is over the context');
        assert.equal(warnings.length, 1, warnings.join('\n'));
        assert.match(warnings[0]!, new RegExp(`has ${ref.tokens[3]} tokens .*CLIP reads 77, so it was cut after the first 75`));
      } finally {
        await scorer.close();
        await metres.close();
      }
    });
  });
}

describe('scoring with prompts', { skip }, () => {
  let work: string;
  let bundle: string;
  let images: { data: Uint8Array; width: number; height: number; channels: 3 }[];
  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'clip-agiqa-prompt-use-'));
    const { model } = exportFixture('tiny', work);
    bundle = join(work, 'bundle');
    await importModel(model, { out: bundle, precisions: [] });
    const base = [...goldenPixels().values()];
    images = Array.from({ length: 8 }, (_, i) => ({ data: base[i % base.length]!, width: 224, height: 224, channels: 3 }));
  });
  after(() => rmSync(work, { recursive: true, force: true }));

  async function withScorer(fn: (s: Scorer) => Promise<void>, options: Parameters<typeof createScorer>[0] | object = {}): Promise<void> {
    const scorer = await createScorer({ model: bundle, ...options });
    try {
      await fn(scorer);
    } finally {
      await scorer.close();
    }
  }

  it('declares clipscore beside the image heads: zero-shot, needs a prompt, [0, 2.5] higher is better (or [0, 100])', async () => {
    await withScorer(async (s) => {
      assert.deepEqual(s.model.heads.map((h) => [h.name, h.needsPrompt]), [['clip-iqa', false], ['levels', false], ['clipscore', true]]);
      const head = s.model.heads.find((h) => h.name === 'clipscore')!;
      assert.deepEqual([head.kind, head.provenance, head.scoreRange, head.higherIsBetter, head.trained], ['clipscore', 'zero-shot', [0, 2.5], true, false]);
    });
    await withScorer(async (s) => assert.deepEqual(s.model.heads.at(-1)!.scoreRange, [0, 100]), { clipScore: 'torchmetrics' });
    await assert.rejects(createScorer({ model: bundle, clipScore: -1 }), /clipScore must be hessel, torchmetrics or a positive number/);
  });

  it('best-of-8 over one prompt costs one text-tower pass, and the next call none', async () => {
    await withScorer(async (s) => {
      const best = await s.bestOf(images, { head: 'clipscore', prompt: 'a red bicycle' });
      assert.equal(best.ranked.length, 8);
      assert.ok(best.ranked.every((r, i) => i === 0 || r.scores.clipscore! <= best.ranked[i - 1]!.scores.clipscore!));
      assert.deepEqual([s.stats().texts, s.stats().textBatches, s.stats().images], [1, 1, 8]);
      await s.score(images, { prompt: 'a red bicycle' });
      assert.deepEqual([s.stats().texts, s.stats().textBatches], [1, 1]);
      assert.ok(s.stats().textCacheHits >= 8);
    }, { maxWaitMs: 20 });
  });

  it('per-candidate prompts are batched like images, and a candidate\'s own prompt wins over the call\'s', async () => {
    await withScorer(async (s) => {
      const outcomes = await s.score(images.map((image, i) => (i < 4 ? { image, prompt: `prompt ${i}` } : image)), { prompt: 'the call prompt' });
      assert.deepEqual(outcomes.map((o) => (isFailure(o) ? o.error.code : o.prompt)), ['prompt 0', 'prompt 1', 'prompt 2', 'prompt 3', ...Array(4).fill('the call prompt')]);
      assert.equal(s.stats().texts, 5);
      assert.ok(s.stats().textBatches < 5, `${s.stats().textBatches} text runs for 5 prompts`);
      const single = await s.score(images[0]!, { prompt: 'prompt 0' });
      const first = outcomes[0]!;
      assert.ok(!isFailure(first));
      assert.equal(single.scores.clipscore, first.scores.clipscore);
      assert.equal(s.stats().texts, 5, 'the single call reused the cached embedding');
    }, { maxWaitMs: 20 });
  });

  it('keeps at most textCacheSize prompt embeddings, dropping the least recently used', async () => {
    await withScorer(async (s) => {
      for (const p of ['a', 'b', 'a', 'c', 'a', 'b']) await s.embedText(p);
      // a, b encoded; a hit; c encoded (drops b, least recently used); a hit; b encoded again.
      assert.deepEqual([s.stats().texts, s.stats().textCacheHits], [4, 2]);
    }, { textCacheSize: 2 });
  });

  it('an image without a prompt gets no clipscore, and fails with PROMPT_REQUIRED only where clipscore is asked for', async () => {
    await withScorer(async (s) => {
      const plain = await s.score(images[0]!);
      assert.deepEqual(Object.keys(plain.scores), ['clip-iqa', 'levels']);
      assert.equal(plain.prompt, undefined);
      const blank = await s.score(images[0]!, { prompt: '   ' });
      assert.equal(blank.scores.clipscore, undefined, 'a blank prompt is no prompt');
      const ranking = await s.rank([images[0]!, { image: images[1]!, prompt: 'a dog' }, images[2]!], { head: 'clipscore' });
      assert.deepEqual(ranking.ranked.map((r) => r.index), [1]);
      assert.deepEqual(ranking.failed.map((f) => [f.index, f.error.code, f.error instanceof InputError]), [[0, 'PROMPT_REQUIRED', true], [2, 'PROMPT_REQUIRED', true]]);
      assert.match(ranking.failed[0]!.error.message, /#0: head clipscore scores an image against its prompt, and this image has none/);
      const bad = await s.score([{ image: images[0]!, prompt: 42 as unknown as string }]);
      assert.ok(isFailure(bad[0]!) && bad[0].error.code === 'UNSUPPORTED_INPUT' && /a prompt must be a string/.test(bad[0].error.message));
      assert.throws(() => s.scoreEmbeddings(new Float32Array(s.model.embedDim), 1, 'clipscore'), /PROMPT_REQUIRED|use score\(\) with a prompt/);
    });
  });
});

describe('prompts on a bundle without a text tower', () => {
  it('are not scored, said once, and clipscore is an unknown head there', async () => {
    using t = tempDir();
    const dir = copyDemoBundle(join(t.dir, 'bundle'));
    const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as { text_encoder?: unknown };
    delete manifest.text_encoder;
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest));
    const warnings: string[] = [];
    const scorer = await createScorer({ model: dir, onWarning: (m) => warnings.push(m) });
    try {
      const size = scorer.model.imageSize;
      const image = { data: new Uint8Array(size * size * 3).fill(90), width: size, height: size, channels: 3 as const };
      assert.ok(!scorer.model.heads.some((h) => h.needsPrompt));
      const outcomes = await scorer.score([image, image], { prompt: 'a cat' });
      assert.ok(outcomes.every((o) => !isFailure(o) && o.scores.clipscore === undefined && o.prompt === undefined));
      assert.equal(warnings.length, 1);
      assert.match(warnings[0]!, /has no text tower: prompts are not scored/);
      await assert.rejects(scorer.rank([image], { head: 'clipscore', prompt: 'a cat' }), /UNKNOWN_HEAD|no head named clipscore/);
      await assert.rejects(scorer.embedText('a cat'), /has no text tower/);
    } finally {
      await scorer.close();
    }
  });
});
