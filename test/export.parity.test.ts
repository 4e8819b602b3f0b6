import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import { createScorer, type ModelBundleManifest } from '@clip-agiqa/core';

import { DEMO_MODEL_DIR, GOLDENS, IMAGES, python, pythonUnavailable, tempDir } from './support/helpers.js';

const skip = pythonUnavailable() ?? false;

function listFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => statSync(join(dir, f)).isFile() && f !== 'README.md')
    .sort();
}

function check(command: string, work: string): Record<string, unknown> {
  const r = python(['test/python/export_checks.py', command, work]);
  assert.equal(r.status, 0, r.stderr.split('\n').slice(-15).join('\n'));
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, unknown>;
}

function readJson(path: string): unknown {
  return JSON.parse(readFileSync(path, 'utf8'));
}

/** Largest difference between two JSON values of the same shape; Infinity when the shapes differ. */
function maxAbsDiff(a: unknown, b: unknown): number {
  if (typeof a === 'number' && typeof b === 'number') return Math.abs(a - b);
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length ? a.reduce((m: number, x, i) => Math.max(m, maxAbsDiff(x, b[i])), 0) : Infinity;
  }
  if (a && b && typeof a === 'object' && typeof b === 'object') {
    const keys = Object.keys(a);
    if (keys.length !== Object.keys(b).length) return Infinity;
    return keys.reduce((m, k) => Math.max(m, k in b ? maxAbsDiff((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]) : Infinity), 0);
  }
  return a === b ? 0 : Infinity;
}

describe('tools/export (PyTorch)', { skip }, () => {
  it('regenerates the committed tiny bundle and goldens bit for bit', () => {
    using t = tempDir();
    const bundle = join(t.dir, 'bundle');
    const goldens = join(t.dir, 'goldens');
    const r = python(['tools/export', '--tiny', '--seed', '0', '--precisions', 'int8', '--out', bundle, '--goldens-images', IMAGES, '--goldens-out', goldens]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /image tower: ONNX Runtime vs PyTorch max \|diff\| = /);
    assert.deepEqual(listFiles(bundle), listFiles(DEMO_MODEL_DIR));
    for (const f of listFiles(DEMO_MODEL_DIR)) {
      assert.ok(readFileSync(join(bundle, f)).equals(readFileSync(join(DEMO_MODEL_DIR, f))), `${f} differs from the committed fixture`);
    }
    assert.ok(readFileSync(join(goldens, 'pixels.safetensors')).equals(readFileSync(join(GOLDENS, 'pixels.safetensors'))), 'goldens/pixels.safetensors differs');
    // PyTorch's float32 kernels differ in the last bit between CPU kinds, so the reference values are compared numerically.
    assert.ok(maxAbsDiff(readJson(join(goldens, 'reference.json')), readJson(join(GOLDENS, 'reference.json'))) <= 1e-5, 'goldens/reference.json differs by more than 1e-5');
  });

  it('fails the export when ONNX Runtime and PyTorch disagree by more than 1e-4', () => {
    using t = tempDir();
    const r = check('verify-catches-drift', t.dir) as { clean_max_diff: number; caught: string | null };
    assert.ok(r.clean_max_diff <= 1e-4);
    assert.match(r.caught ?? '', /ONNX Runtime differs from PyTorch by .* \(> 0\.0001\)/);
  });

  it('converts an OpenAI-layout state dict, heads given', () => {
    using t = tempDir();
    const r = check('openai-checkpoint', t.dir) as { max_diff: number; manifest: ModelBundleManifest };
    assert.ok(r.max_diff <= 1e-4, `image tower differs from PyTorch by ${r.max_diff}`);
    assert.equal(r.manifest.text_encoder?.tokenizer.kind, 'clip-bpe');
    assert.match(r.manifest.description ?? '', /UNTRAINED head/);
  });

  it('converts a Hugging Face folder and picks up its tokenizer', () => {
    using t = tempDir();
    const r = check('hf-folder', t.dir) as { manifest: ModelBundleManifest };
    assert.equal(r.manifest.text_encoder?.file, 'text_encoder.onnx');
    assert.equal(r.manifest.heads[0]!.trained, false);
  });

  it('packs a given head with its provenance, and the scorer reproduces its PyTorch score', async () => {
    using t = tempDir();
    const r = check('trained-head', t.dir) as { bundle: string; image: string; score: number; manifest: ModelBundleManifest };
    const head = r.manifest.heads[0]!;
    assert.equal(head.name, 'authenticity');
    assert.equal(head.trained, true);
    assert.deepEqual(head.score_range, [0, 100]);
    assert.equal(head.training?.dataset, 'AGIQA-3K');
    const scorer = await createScorer({ model: r.bundle });
    try {
      assert.equal(scorer.model.untrained, false);
      const got = (await scorer.score(r.image)).scores.authenticity!;
      assert.ok(Math.abs(got - r.score) <= 1e-4, `${got} vs PyTorch ${r.score}`);
    } finally {
      await scorer.close();
    }
  });

  it('keeps the fixture bundle small', () => {
    const total = listFiles(DEMO_MODEL_DIR).reduce((n, f) => n + statSync(join(DEMO_MODEL_DIR, f)).size, 0);
    assert.ok(total < 5 * 1024 * 1024, `${total} bytes`);
  });
});
