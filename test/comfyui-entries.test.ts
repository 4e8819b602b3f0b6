import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { loadedBy } from './support/loaded-modules.js';

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
