import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { createScorer, type ModelBundleManifest } from '@clip-agiqa/core';

import { goldenPixels, python, pythonUnavailable, reference, tempDir } from './support/helpers.js';

interface ImportedRun {
  bundle: string;
  scores: Record<string, number>;
  ctx_effect: number;
  ctx_dtype: string;
  ctx_shape: number[];
  regression_keys: string[];
  manifest: ModelBundleManifest;
}

function check<T>(command: string, work: string): T {
  const r = python(['test/python/official_checks.py', command, work]);
  assert.equal(r.status, 0, r.stderr.split('\n').slice(-15).join('\n'));
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as T;
}

const skip = pythonUnavailable(['torch', 'transformers', 'onnxruntime', 'safetensors', 'PIL']) ?? false;

describe('tools/export --official: a checkpoint of the official CLIP-AGIQA code', { skip }, () => {
  it('scores as the official forward does, to 1e-5 (fp32), for the last and a chosen epoch', async () => {
    using t = tempDir();
    const runs = check<Record<'last' | 'epoch50', ImportedRun>>('import', t.dir);
    const pixels = goldenPixels();
    const size = reference().size;
    for (const [label, run] of Object.entries(runs)) {
      assert.equal(run.ctx_dtype, 'torch.float16');
      assert.deepEqual(run.ctx_shape, [16, 512]);
      assert.deepEqual(run.regression_keys, ['1.bias', '1.weight', '4.bias', '4.weight']);
      assert.ok(run.ctx_effect > 1e-3, `the learned context changes the official scores (by ${run.ctx_effect})`);
      const head = run.manifest.heads[0]!;
      assert.equal(head.name, 'quality');
      assert.equal(head.trained, true);
      assert.equal(head.training?.dataset, 'AGIQA-3K');
      assert.equal((head.training as Record<string, unknown>).checkpoint, label === 'last' ? 'model.pth.tar-100' : 'model.pth.tar-50');
      const scorer = await createScorer({ model: run.bundle });
      try {
        assert.equal(scorer.model.untrained, false);
        for (const [name, expected] of Object.entries(run.scores)) {
          const got = (await scorer.score({ id: name, image: { data: pixels.get(name)!, width: size, height: size, channels: 3 } })).scores.quality!;
          assert.ok(Math.abs(got - expected) <= 1e-5, `${label} ${name}: ${got} vs official ${expected}`);
        }
      } finally {
        await scorer.close();
      }
    }
    assert.notEqual(runs.last.scores['landscape.jpg'], runs.epoch50.scores['landscape.jpg']);
  });

  it('refuses other CLIP weights, a folder without checkpoints, a missing epoch and a folder that is not a run', () => {
    using t = tempDir();
    const r = check<Record<string, { status: number; message: string }>>('refusals', t.dir);
    for (const c of Object.values(r)) assert.notEqual(c.status, 0);
    assert.match(r.other_clip!.message, /token_(prefix|suffix) differs from the token embeddings of the CLIP weights given/);
    assert.match(r.no_checkpoints!.message, /regression: no model\.pth\.tar-N or model-best\.pth\.tar/);
    assert.match(r.missing_epoch!.message, /model\.pth\.tar-7: missing/);
    assert.match(r.not_a_run!.message, /no prompt_learner\/ folder; pass the output folder of the official training run/);
  });

  it('refuses a NaN context vector or an infinite regression weight naming the tensor, and records the run\'s context length', () => {
    using t = tempDir();
    const r = check<{ nan_ctx: { status: number; message: string }; inf_bias: { status: number; message: string }; ctx8: { manifest: ModelBundleManifest } }>('variants', t.dir);
    assert.notEqual(r.nan_ctx.status, 0);
    assert.match(r.nan_ctx.message, /--official: prompt_learner ctx holds nan at index 3 of \d+ \(1 non-finite values\)/);
    assert.notEqual(r.inf_bias.status, 0);
    assert.match(r.inf_bias.message, /--official: regression 1\.bias holds inf at index 3/);
    assert.equal(r.ctx8.manifest.heads[0]!.prompt_template, '<8 learned context tokens> {level}.');
  });

  it('reads a checkpoint without running code it names', () => {
    using t = tempDir();
    const r = check<{ ran: boolean; state_dict: Record<string, number[]>; val_result: string }>('inert', t.dir);
    assert.equal(r.ran, false);
    assert.deepEqual(r.state_dict, { w: [1, 1] });
    assert.equal(r.val_result, 'system');
  });
});
