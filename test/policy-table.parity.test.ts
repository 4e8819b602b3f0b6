import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import { startBridge } from '@clip-agiqa/comfyui';
import * as core from '@clip-agiqa/core';

import { promptHeadBundle, pythonUnavailable, tempDir } from './support/helpers.js';
import { runPython } from './support/python-process.js';

describe('one policy rule: the ComfyUI node pack re-decides a batch scored in parts by the same table', { skip: pythonUnavailable(['torch', 'numpy', 'aiohttp', 'PIL']) ?? false }, () => {
  it('decides every accepted case as the table says, and over parts as the bridge decides the whole batch; refuses as the bridge does', async () => {
    using t = tempDir();
    // The table's three heads; the node pack sends no prompt, so no image gets a clipscore from these bridges.
    const scorer = await core.createScorer({ model: promptHeadBundle(join(t.dir, 'bundle')) });
    const whole = await startBridge({ scorer, port: 0, log: () => undefined });
    const split = await startBridge({ scorer, port: 0, maxImages: 2, log: () => undefined });
    try {
      const r = await runPython(['test/python/test_policy_table.py', '-v'], { WHOLE_BRIDGE_URL: whole.url, SPLIT_BRIDGE_URL: split.url, CLIP_AGIQA_CONFIG: join(t.dir, 'no-config.json') });
      assert.equal(r.status, 0, r.output);
      assert.match(r.output, /Ran 2 tests/);
      assert.doesNotMatch(r.output, /skipped/);
    } finally {
      await split.close();
      await whole.close();
      await scorer.close();
    }
  });
});
