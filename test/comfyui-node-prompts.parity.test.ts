import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import { startBridge } from '@clip-agiqa/comfyui';
import { createScorer } from '@clip-agiqa/core';
import sharp from 'sharp';

import { DEMO_MODEL_DIR, pythonUnavailable, tempDir } from './support/helpers.js';
import { runPython } from './support/python-process.js';

const missing = pythonUnavailable(['torch', 'numpy', 'aiohttp', 'PIL']);
const PROMPT = 'a photo of a striped pattern';

describe('ComfyUI node pack with prompts', { skip: missing ?? false }, () => {
  it('sends the prompt input to the bridge and reports the prompt heads (clipscore) it scored', async () => {
    using t = tempDir();
    const scorer = await createScorer({ model: DEMO_MODEL_DIR });
    const bridge = await startBridge({ scorer, port: 0, token: 'node-pack-token', log: () => undefined });
    try {
      // Four 64x64 PNGs of different content, scored directly (quality, and clipscore against PROMPT) for the expected values.
      const cases: [string, number, number][] = [];
      for (let k = 0; k < 4; k++) {
        const raw = Buffer.alloc(64 * 64 * 3);
        for (let i = 0; i < raw.length; i++) raw[i] = (i * (k + 2) * 11 + (i >> 7) * (k + 1) * 17) & 255;
        const path = join(t.dir, `case-${k}.png`);
        await sharp(raw, { raw: { width: 64, height: 64, channels: 3 } }).png().toFile(path);
        const [outcome] = await scorer.score([{ image: path, prompt: PROMPT }]);
        assert.ok(outcome && 'scores' in outcome);
        cases.push([path, outcome.scores.quality!, outcome.scores.clipscore!]);
      }
      assert.equal(new Set(cases.map((c) => c[2])).size, cases.length, 'the cases differ in clipscore, so an order is defined');
      const r = await runPython(['test/python/test_comfyui_node_prompts.py', '-v'], {
        CLIP_AGIQA_BRIDGE_URL: bridge.url, CLIP_AGIQA_BRIDGE_TOKEN: 'node-pack-token', PROMPT, PROMPT_CASES: JSON.stringify(cases),
        CLIP_AGIQA_CONFIG: join(t.dir, 'no-config.json'),
      });
      assert.equal(r.status, 0, r.output);
      assert.match(r.output, /Ran 7 tests/);
    } finally {
      await bridge.close();
      await scorer.close();
    }
  });
});
