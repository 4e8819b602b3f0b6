import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import { startBridge } from '@clip-agiqa/comfyui';
import { createScorer } from '@clip-agiqa/core';
import sharp from 'sharp';

import { DEMO_MODEL_DIR, lowerIsBetterBundle, pythonUnavailable, tempDir } from './support/helpers.js';
import { runPython } from './support/python-process.js';

const missing = pythonUnavailable(['torch', 'numpy', 'aiohttp', 'PIL']);

/** Runs the node pack's Python tests against a real bridge serving `model`. */
async function nodePackSuite(model: string, higherIsBetter: boolean): Promise<void> {
  using t = tempDir();
  const scorer = await createScorer({ model });
  const bridge = await startBridge({ scorer, port: 0, token: 'node-pack-token', log: () => undefined });
  const small = await startBridge({ scorer, port: 0, token: 'node-pack-token', maxImages: 2, log: () => undefined });
  try {
    // Five 64x64 PNGs of different content, scored directly for the expected values.
    const cases: [string, number][] = [];
    for (let k = 0; k < 5; k++) {
      const raw = Buffer.alloc(64 * 64 * 3);
      for (let i = 0; i < raw.length; i++) raw[i] = (i * (k + 3) * 7 + (i >> 6) * (k + 1) * 13) & 255;
      const path = join(t.dir, `case-${k}.png`);
      await sharp(raw, { raw: { width: 64, height: 64, channels: 3 } }).png().toFile(path);
      const [outcome] = await scorer.score([path]);
      assert.ok(outcome && 'scores' in outcome);
      cases.push([path, outcome.scores.quality!]);
    }
    const r = await runPython(['test/python/test_comfyui_nodes.py', '-v'], {
      CLIP_AGIQA_BRIDGE_URL: bridge.url, CLIP_AGIQA_BRIDGE_TOKEN: 'node-pack-token', TEST_IMAGES: JSON.stringify(cases), HIGHER_IS_BETTER: higherIsBetter ? '1' : '0',
      SMALL_BRIDGE_URL: small.url, MODEL_DIGEST: scorer.model.manifestSha256, CLIP_AGIQA_CONFIG: join(t.dir, 'no-config.json'),
    });
    assert.equal(r.status, 0, r.output);
    assert.match(r.output, /Ran 22 tests/);
  } finally {
    await small.close();
    await bridge.close();
    await scorer.close();
  }
}

describe('ComfyUI node pack', { skip: missing ?? false }, () => {
  it('passes its unit tests against a real bridge (scores, gate, best-of-N, alignment, errors)', async () => {
    await nodePackSuite(DEMO_MODEL_DIR, true);
  });

  it('gates and picks the best of N the right way round for a head where lower is better', async () => {
    using t = tempDir();
    await nodePackSuite(lowerIsBetterBundle(t.dir), false);
  });
});
