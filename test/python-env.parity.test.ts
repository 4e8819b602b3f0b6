import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';

import { ROOT } from './support/helpers.js';

/** Asks test/support/helpers.ts, in a fresh process with the given CI value, about a Python module that does not exist. */
function askForMissingModule(ci: string | undefined): { status: number | null; stdout: string; stderr: string } {
  const script = "import { pythonUnavailable } from './test/support/helpers.ts'; console.log('reason:', pythonUnavailable(['clip_agiqa_no_such_module']));";
  const env = { ...process.env };
  if (ci === undefined) delete env.CI;
  else env.CI = ci;
  return spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: ROOT, env, encoding: 'utf8' });
}

describe('reference checks without their Python', () => {
  it('skip with the reason for users', () => {
    const r = askForMissingModule(undefined);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /reason: .*lacks clip_agiqa_no_such_module/);
  });

  it('fail the run under CI=true instead of skipping', () => {
    const r = askForMissingModule('true');
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /CI=true and a reference check cannot run: .*clip_agiqa_no_such_module.*\.ci\/python-venv/);
  });
});

describe('the virtual environment', () => {
  it('is never committed: .venv is ignored as a folder and as a link', () => {
    const tracked = spawnSync('git', ['ls-files', '--', '.venv'], { cwd: ROOT, encoding: 'utf8' });
    assert.equal(tracked.status, 0, tracked.stderr);
    assert.equal(tracked.stdout, '');
    // A path that does not exist is checked as a file, as a symlink to a shared venv would be.
    const ignored = spawnSync('git', ['check-ignore', '--no-index', '-q', 'nested/.venv'], { cwd: ROOT });
    assert.equal(ignored.status, 0, '.venv is not ignored when it is not a folder');
  });
});
