// test/run.mjs: tiers by file name, the slowest files, and CI=true's rule that nothing may skip.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { ROOT, tempDir } from './support/helpers.js';

const passing = "import { it } from 'node:test';\nit('passes', () => undefined);\n";
const skipping = "import { it } from 'node:test';\nit('needs a service this machine lacks', { skip: 'no service' }, () => undefined);\n";

describe('the test runner', () => {
  const t = tempDir();
  before(() => {
    writeFileSync(join(t.dir, 'a.test.ts'), passing);
    writeFileSync(join(t.dir, 'b.parity.test.ts'), skipping);
    writeFileSync(join(t.dir, 'c.e2e.test.ts'), passing);
    writeFileSync(join(t.dir, 'd.e2e.test.ts'), `${passing}it('fails', () => { throw new Error('no'); });\n`);
  });
  after(() => t[Symbol.dispose]());

  const runner = (ci: string | undefined, ...args: string[]) => {
    const env = { ...process.env };
    delete env.CI;
    if (ci !== undefined) env.CI = ci;
    return spawnSync(process.execPath, [join(ROOT, 'test/run.mjs'), ...args, '--dir', t.dir], { cwd: ROOT, env, encoding: 'utf8' });
  };

  it('picks a tier\'s files by their suffix and names the slowest files', () => {
    const unit = runner(undefined, 'unit');
    assert.equal(unit.status, 0, unit.stdout + unit.stderr);
    assert.match(unit.stdout, /^unit: 1 files, 1 tests, 1 passed, 0 failed, 0 skipped/m);
    assert.match(unit.stdout, /Slowest files:\n\s+\d+\.\d s {2}a\.test\.ts\n/);
    const e2e = runner(undefined, 'e2e', 'c.e2e');
    assert.equal(e2e.status, 0, e2e.stdout + e2e.stderr);
    assert.match(e2e.stdout, /^e2e: 1 files, 1 tests, 1 passed/m);
  });

  it('fails when a file fails, and runs every tier under all', () => {
    const all = runner(undefined, 'all');
    assert.equal(all.status, 1);
    assert.match(all.stdout, /^all: 4 files, 5 tests, 3 passed, 1 failed, 1 skipped/m);
    assert.match(all.stderr, /Failed: d\.e2e\.test\.ts/);
  });

  it('lets a test skip, except under CI=true, in every tier', () => {
    assert.equal(runner(undefined, 'parity').status, 0);
    for (const tier of ['parity', 'all']) {
      const r = runner('true', tier, 'a.test', 'b.parity');
      assert.equal(r.status, 1, `${tier}: ${r.stdout}`);
      assert.match(r.stderr, /CI=true: 1 test\(s\) skipped, which CI does not allow:\n\s+b\.parity\.test\.ts: ok 1 - needs a service this machine lacks # SKIP/);
    }
  });
});
