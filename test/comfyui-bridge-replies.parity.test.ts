import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';

import { PYTHON, pythonUnavailable, ROOT } from './support/helpers.js';

const missing = pythonUnavailable(['torch', 'numpy', 'aiohttp']);

describe('ComfyUI node pack against bridges that break the protocol or hang', { skip: missing ?? false }, () => {
  it('turns every malformed reply into bridge-unavailable naming the URL, fails over, and rests a hung bridge', () => {
    const r = spawnSync(PYTHON, ['test/python/test_bridge_replies.py', '-v'], { cwd: ROOT, encoding: 'utf8', timeout: 300_000 });
    assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
    assert.match(r.stderr, /Ran 12 tests/);
  });
});
