import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { describe, it } from 'node:test';

import { CLI, closedPort, PYTHON, pythonUnavailable, ROOT } from './support/helpers.js';

const missing = pythonUnavailable(['torch', 'numpy', 'aiohttp']);

describe('ComfyUI node pack starting its own bridge', { skip: missing ?? false }, () => {
  it('starts one from the installed CLI, reuses it, stops it at exit; says how to fix a missing Node.js or CLI; can be turned off', async () => {
    const ports = [await closedPort(), await closedPort()];
    const env = { ...process.env, CLIP_AGIQA_CLI: CLI, NODE: process.execPath, FREE_PORTS: ports.join(',') };
    const r = await new Promise<{ status: number | null; output: string }>((resolve) => {
      const child = spawn(PYTHON, ['test/python/test_local_bridge.py', '-v'], { cwd: ROOT, env });
      let output = '';
      child.stdout.on('data', (d: Buffer) => { output += d.toString(); });
      child.stderr.on('data', (d: Buffer) => { output += d.toString(); });
      const timer = setTimeout(() => child.kill('SIGKILL'), 300_000);
      child.on('close', (status) => { clearTimeout(timer); resolve({ status, output }); });
    });
    assert.equal(r.status, 0, r.output);
    assert.match(r.output, /Ran 5 tests/);
  });
});
