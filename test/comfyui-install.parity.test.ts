import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';

import { PYTHON, pythonUnavailable, ROOT } from './support/helpers.js';

const missing = pythonUnavailable(['torch', 'numpy', 'aiohttp', 'PIL']);

describe('ComfyUI node pack installed by cloning this repository', { skip: missing ?? false }, () => {
  it('loads from a clone in custom_nodes as ComfyUI loads it, with registry metadata valid at the root', () => {
    const r = spawnSync(PYTHON, ['test/python/test_clone_install.py', '-v'], { cwd: ROOT, encoding: 'utf8' });
    assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
    assert.match(r.stderr, /Ran 6 tests/);
  });
});
