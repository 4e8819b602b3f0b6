import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

import { ROOT } from './helpers.js';

/** The modules a fresh process loads for `import(specifier)`, as URLs. */
export function loadedBy(specifier: string): string[] {
  const r = spawnSync(process.execPath, ['--no-warnings', '--loader', join(ROOT, 'test/support/trace-loader.mjs'), '--input-type=module', '-e', `await import(${JSON.stringify(specifier)})`],
    { cwd: ROOT, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return [...new Set(r.stderr.split('\n').filter((l) => l.startsWith('loaded ')).map((l) => l.slice('loaded '.length)))];
}
