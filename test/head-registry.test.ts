import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import { BundleError, createScorer, headKinds, headProvenance, registerHeadKind, type Head, type ModelBundleManifest, type ScoreResult } from '@clip-agiqa/core';
import { parseSafetensors } from '@clip-agiqa/core/internal';

import { copyDemoBundle, IMAGES, tempDir } from './support/helpers.js';

/** The demo bundle with a second head of `kind` that reads the first D weights of the MLP head's first layer. */
function bundleWithHead(dir: string, kind: string): string {
  copyDemoBundle(dir);
  const m = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as ModelBundleManifest;
  m.heads.push({ name: 'linear', kind, file: m.heads[0]!.file, tensors: { weight: 'fc1.weight' }, score_range: [-1, 1], higher_is_better: false, trained: false });
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(m));
  return dir;
}

describe('head registry', () => {
  it('loads and scores a head kind the application registered', async () => {
    using t = tempDir();
    registerHeadKind('test-linear', (entry, tensors, embedDim): Head => {
      const w = tensors.get(entry.tensors.weight!)!.data.subarray(0, embedDim);
      return {
        name: entry.name, kind: entry.kind, embedDim, scoreRange: entry.score_range, higherIsBetter: entry.higher_is_better, trained: entry.trained, provenance: headProvenance(entry),
        score: (embeds, count) => Array.from({ length: count }, (_, n) => w.reduce((s, wi, i) => s + wi * embeds[n * embedDim + i]!, 0)),
      };
    });
    assert.ok(headKinds().includes('test-linear'));
    const scorer = await createScorer({ model: bundleWithHead(t.dir, 'test-linear') });
    try {
      assert.deepEqual(scorer.model.heads.map((h) => [h.name, h.kind, h.higherIsBetter]), [['quality', 'clip-agiqa-mlp', true], ['linear', 'test-linear', false], ['clipscore', 'clipscore', true]]);
      const image = join(IMAGES, 'square.png');
      const embed = await scorer.embed(image);
      const tensors = parseSafetensors(readFileSync(join(t.dir, 'heads/quality.safetensors')), 'quality');
      const w = tensors.get('fc1.weight')!.data;
      const expected = Array.from(embed).reduce((s, e, i) => s + e * w[i]!, 0);
      const result = (await scorer.score(image)) as ScoreResult;
      assert.ok(Math.abs(result.scores.linear! - expected) < 1e-9, `${result.scores.linear} vs ${expected}`);
    } finally {
      await scorer.close();
    }
  });

  it('refuses a bundle naming a kind nobody registered', async () => {
    using t = tempDir();
    await assert.rejects(createScorer({ model: bundleWithHead(t.dir, 'never-registered') }),
      (e: unknown) => e instanceof BundleError && e.code === 'SCHEMA_VIOLATION' && /unknown kind never-registered/.test(e.message));
  });
});
