import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import { createScorer, type ModelBundleManifest, type Precision } from '@clip-agiqa/core';

import { assertBatchInvariant } from './support/batch-invariance.js';
import { copyDemoBundle, IMAGES, python, pythonUnavailable, tempDir } from './support/helpers.js';

describe('scorer on towers the Python exporter and onnx make', () => {
  it('gives the same score alone and in any batch at every precision the exporter produces', { skip: pythonUnavailable() ?? false }, async () => {
    using t = tempDir();
    const listed = python(['-c', 'import sys; sys.path.insert(0, "tools/export"); from clip_agiqa_export.precision import PRECISIONS; print(",".join(PRECISIONS))']);
    assert.equal(listed.status, 0, listed.stderr);
    const precisions = listed.stdout.trim();
    const r = python(['tools/export', '--tiny', '--seed', '3', '--no-text', '--precisions', precisions, '--guard-images', IMAGES, '--out', t.dir]);
    assert.equal(r.status, 0, r.stderr);
    const manifest = JSON.parse(readFileSync(join(t.dir, 'manifest.json'), 'utf8')) as ModelBundleManifest;
    assert.deepEqual(Object.keys(manifest.image_encoder.files).sort(), ['fp32', ...precisions.split(',')].sort());
    for (const precision of Object.keys(manifest.image_encoder.files) as Precision[]) {
      if (precision !== 'fp32') assert.ok(manifest.image_encoder.accuracy![precision]!.max_batch_diff! <= 1e-5);
      await assertBatchInvariant(t.dir, precision, [3, 8]);
    }
  });

  it('fails an image whose embedding is NaN (counted as failed, never scored) and scores the others', { skip: pythonUnavailable(['onnx']) ?? false }, async () => {
    using t = tempDir();
    copyDemoBundle(t.dir);
    // A tower that is NaN for dark images: the embedding is scaled by the square root of the mean normalised pixel.
    const r = python(['-c', `import sys, numpy as np, onnx
from onnx import helper, numpy_helper, TensorProto
w = numpy_helper.from_array(np.random.RandomState(0).randn(3, 64).astype(np.float32), 'w')
nodes = [helper.make_node('ReduceMean', ['pixel_values'], ['channels'], axes=[2, 3], keepdims=0),
         helper.make_node('MatMul', ['channels', 'w'], ['raw']),
         helper.make_node('ReduceMean', ['pixel_values'], ['level'], axes=[1, 2, 3], keepdims=0),
         helper.make_node('Unsqueeze', ['level', 'one'], ['level2']),
         helper.make_node('Sqrt', ['level2'], ['scale']),
         helper.make_node('Mul', ['raw', 'scale'], ['image_embeds'])]
g = helper.make_graph(nodes, 'nan-for-dark', [helper.make_tensor_value_info('pixel_values', TensorProto.FLOAT, ['n', 3, 224, 224])],
                      [helper.make_tensor_value_info('image_embeds', TensorProto.FLOAT, ['n', 64])],
                      initializer=[w, numpy_helper.from_array(np.array([1], dtype=np.int64), 'one')])
m = helper.make_model(g, opset_imports=[helper.make_opsetid('', 13)]); m.ir_version = 8; onnx.save(m, sys.argv[1])`, join(t.dir, 'image_encoder.onnx')]);
    assert.equal(r.status, 0, r.stderr);
    const manifestPath = join(t.dir, 'manifest.json');
    const m = JSON.parse(readFileSync(manifestPath, 'utf8')) as { files: Record<string, { sha256: string; bytes: number }> };
    const tower = readFileSync(join(t.dir, 'image_encoder.onnx'));
    m.files['image_encoder.onnx'] = { sha256: createHash('sha256').update(tower).digest('hex'), bytes: tower.length };
    writeFileSync(manifestPath, JSON.stringify(m));
    const dark = { id: 'dark', image: { data: new Uint8Array(224 * 224 * 3).fill(10), width: 224, height: 224, channels: 3 as const } };
    const bright = { id: 'bright', image: { data: new Uint8Array(224 * 224 * 3).fill(240), width: 224, height: 224, channels: 3 as const } };
    const s = await createScorer({ model: t.dir });
    try {
      const [a, b] = await s.score([dark, bright]);
      assert.ok(a && 'error' in a, 'the NaN image fails');
      assert.equal(a.error.code, 'NON_FINITE_OUTPUT');
      assert.match(a.error.message, /^dark: the image tower gave NaN or Infinity/);
      assert.ok(b && 'scores' in b && Number.isFinite(b.scores.quality));
      const filtered = await s.filter([dark, bright], { threshold: -1e9 });
      assert.deepEqual(filtered.passed.map((x) => x.id), ['bright'], 'a NaN image never passes a gate');
    } finally {
      await s.close();
    }
  });
});
