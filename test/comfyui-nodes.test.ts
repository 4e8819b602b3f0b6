import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import { startBridge } from '@clip-agiqa/comfyui';
import { createScorer } from '@clip-agiqa/core';
import sharp from 'sharp';

import { DEMO_MODEL_DIR, pythonUnavailable, ROOT, tempDir } from './helpers.js';

const missing = pythonUnavailable(['torch', 'numpy', 'aiohttp', 'PIL']);

function runPython(args: string[], env: Record<string, string>): Promise<{ status: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn('python3', args, { cwd: ROOT, env: { ...process.env, ...env } });
    let output = '';
    child.stdout.on('data', (d: Buffer) => { output += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { output += d.toString(); });
    child.on('close', (status) => resolve({ status, output }));
  });
}

describe('ComfyUI node pack', { skip: missing ?? false }, () => {
  it('passes its unit tests against a real bridge (scores, gate, best-of-N, alignment, errors)', async () => {
    using t = tempDir();
    const scorer = await createScorer({ model: DEMO_MODEL_DIR });
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
        CLIP_AGIQA_BRIDGE_URL: bridge.url, CLIP_AGIQA_BRIDGE_TOKEN: 'node-pack-token', TEST_IMAGES: JSON.stringify(cases),
        SMALL_BRIDGE_URL: small.url, MODEL_DIGEST: scorer.model.manifestSha256, CLIP_AGIQA_CONFIG: join(t.dir, 'no-config.json'),
      });
      assert.equal(r.status, 0, r.output);
      assert.match(r.output, /Ran 20 tests/);
    } finally {
      await small.close();
      await bridge.close();
      await scorer.close();
    }
  });
});
