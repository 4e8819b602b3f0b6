import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { describe, it } from 'node:test';

import { startBridge } from '@clip-agiqa/comfyui';
import { createScorer } from '@clip-agiqa/core';

import { DEMO_MODEL_DIR, PYTHON, pythonUnavailable, ROOT } from './support/helpers.js';
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
        ...process.env, CLIP_AGIQA_BRIDGE_TOKEN: 'multi-bridge-token',
        BRIDGE_URLS: [dead, ...bridges.map((b) => b.url)].join(', '), DEAD_URLS: `${dead},ws://127.0.0.1:${await freePort()}`,
      };
      const r = await new Promise<{ status: number | null; output: string }>((resolve) => {
        const child = spawn(PYTHON, ['test/python/test_multi_bridge.py', '-v'], { cwd: ROOT, env });
        let output = '';
        child.stdout.on('data', (d: Buffer) => { output += d.toString(); });
        child.stderr.on('data', (d: Buffer) => { output += d.toString(); });
        const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
        child.on('close', (status) => { clearTimeout(timer); resolve({ status, output }); });
      });
      assert.equal(r.status, 0, r.output);
      assert.match(r.output, /Ran 4 tests/);
      assert.ok(connected[0]! >= 2 && connected[1]! >= 2, `batches per bridge: ${connected.join(', ')} (spread over both)`);
    } finally {
      await Promise.all(bridges.map((b) => b.close()));
      await scorer.close();
    }
  });
});
