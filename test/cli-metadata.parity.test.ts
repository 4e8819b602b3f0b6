import assert from 'node:assert/strict';
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import { cli } from './support/cli-in-process.js';
import { IMAGES, python, pythonUnavailable, tempDir } from './support/helpers.js';

describe('clip-agiqa score --write-metadata, read back by PIL', { skip: pythonUnavailable(['PIL']) ?? false }, () => {
  it('PIL finds the score record in the PNG\'s clip-agiqa text chunk', async () => {
    using t = tempDir();
    const png = join(t.dir, 'square.png');
    copyFileSync(join(IMAGES, 'square.png'), png);
    const r = await cli(['score', '--json', '--write-metadata', '--in-place', png]);
    assert.equal(r.status, 0, r.stderr);
    const record = JSON.parse(r.stdout) as { scores: unknown };
    const text = python(['-c', 'import sys; from PIL import Image; print(Image.open(sys.argv[1]).text["clip-agiqa"])', png]);
    assert.equal(text.status, 0, text.stderr);
    assert.deepEqual((JSON.parse(text.stdout) as { scores: unknown }).scores, record.scores);
  });
});
