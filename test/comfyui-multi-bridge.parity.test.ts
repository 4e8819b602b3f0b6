import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { startBridge } from '@clip-agiqa/comfyui';
import { createScorer } from '@clip-agiqa/core';

import { DEMO_MODEL_DIR, pythonUnavailable } from './support/helpers.js';
import { runPython } from './support/python-process.js';
import { freePort } from './support/redis-server.js';

const missing = pythonUnavailable(['torch', 'numpy', 'aiohttp']);

describe('ComfyUI node pack with several bridges', { skip: missing ?? false }, () => {
  it('spreads batches over the bridges, skips one that is down, fails only when all are, naming each', async () => {
    const scorer = await createScorer({ model: DEMO_MODEL_DIR });
    const connected = [0, 0];
    const bridges = await Promise.all([0, 1].map((k) => startBridge({ scorer, port: 0, token: 'multi-bridge-token', log: (line) => { if (line.msg === 'client connected') connected[k]!++; } })));
    try {
      const dead = `ws://127.0.0.1:${await freePort()}`;
      const env = {
        CLIP_AGIQA_BRIDGE_TOKEN: 'multi-bridge-token',
        BRIDGE_URLS: [dead, ...bridges.map((b) => b.url)].join(', '), DEAD_URLS: `${dead},ws://127.0.0.1:${await freePort()}`,
      };
      const r = await runPython(['test/python/test_multi_bridge.py', '-v'], env, 120_000);
      assert.equal(r.status, 0, r.output);
      assert.match(r.output, /Ran 4 tests/);
      assert.ok(connected[0]! >= 2 && connected[1]! >= 2, `batches per bridge: ${connected.join(', ')} (spread over both)`);
    } finally {
      await Promise.all(bridges.map((b) => b.close()));
      await scorer.close();
    }
  });
});
