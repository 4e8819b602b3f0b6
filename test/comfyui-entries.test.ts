import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import { ROOT } from './support/helpers.js';

/** The modules a fresh process loads for `import(specifier)`. */
function loadedBy(specifier: string): string[] {
  const r = spawnSync(process.execPath, ['--no-warnings', '--loader', join(ROOT, 'test/support/trace-loader.mjs'), '--input-type=module', '-e', `await import(${JSON.stringify(specifier)})`],
    { cwd: ROOT, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return [...new Set(r.stderr.split('\n').filter((l) => l.startsWith('loaded ')).map((l) => l.slice('loaded '.length)))];
}

describe('@clip-agiqa/comfyui entries: the bridge and the runner are two products', () => {
  it('the runner entry loads nothing of the bridge, ONNX Runtime or sharp; the bridge entry nothing of the runner', () => {
    const runner = loadedBy('@clip-agiqa/comfyui/runner');
    assert.ok(runner.some((u) => u.includes('/comfyui/dist/runner/')), 'the runner loaded');
    assert.deepEqual(runner.filter((u) => /\/comfyui\/dist\/bridge\/|onnxruntime|\/sharp\//.test(u)), []);
    const bridge = loadedBy('@clip-agiqa/comfyui/bridge');
    assert.ok(bridge.some((u) => u.includes('/comfyui/dist/bridge/server.js')), 'the bridge loaded');
    assert.deepEqual(bridge.filter((u) => u.includes('/comfyui/dist/runner/')), []);
  });
});
