import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';

import { ROOT } from './support/helpers.js';

/** Hand-written TypeScript under packages/NAME/src: the generated/ folders hold what the schemas and the kernel compile to. */
function sources(): string[] {
  const packages = join(ROOT, 'packages');
  return readdirSync(packages).flatMap((name) => {
    try {
      return readdirSync(join(packages, name, 'src'), { recursive: true, encoding: 'utf8' }).map((f) => join(packages, name, 'src', f));
    } catch {
      return [];
    }
  }).filter((f) => f.endsWith('.ts') && !f.split('/').includes('generated'));
}

describe('source files stay small', () => {
  it('no hand-written module under packages/*/src passes 400 lines', () => {
    const files = sources();
    assert.ok(files.length > 100, `${files.length} files found`);
    const long = files.map((f) => ({ file: relative(ROOT, f), lines: readFileSync(f, 'utf8').split('\n').length - 1 })).filter((f) => f.lines > 400);
    assert.deepEqual(long, [], 'split these by what each part does');
  });
});
