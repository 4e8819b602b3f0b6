import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { CLI, closedPort, pythonUnavailable } from './support/helpers.js';
import { runPython } from './support/python-process.js';

const missing = pythonUnavailable(['torch', 'numpy', 'aiohttp']);

describe('ComfyUI node pack starting its own bridge', { skip: missing ?? false }, () => {
  it('starts one from the installed CLI, reuses it, stops it at exit; says how to fix a missing Node.js or CLI; can be turned off', async () => {
    const ports = [await closedPort(), await closedPort()];
    const env = { CLIP_AGIQA_CLI: CLI, NODE: process.execPath, FREE_PORTS: ports.join(',') };
    const r = await runPython(['test/python/test_local_bridge.py', '-v'], env);
    assert.equal(r.status, 0, r.output);
    assert.match(r.output, /Ran 5 tests/);
  });
});
