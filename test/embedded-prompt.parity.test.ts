import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import { embeddedPrompt } from '@clip-agiqa/core';

import { python, pythonUnavailable, tempDir } from './support/helpers.js';
import { A1111_PARAMETERS, FLUX_GRAPH } from './support/png-text.js';

describe('prompts embedded in PNG metadata, as Pillow writes them', () => {
  it('reads what Pillow\'s PngInfo writes, as ComfyUI and Automatic1111 save', { skip: pythonUnavailable(['PIL']) ?? false }, () => {
    using t = tempDir();
    const script = 'import json, sys\nfrom PIL import Image\nfrom PIL.PngImagePlugin import PngInfo\n'
      + 'm = PngInfo(); m.add_text("prompt", json.dumps(json.loads(sys.argv[1]))); m.add_text("workflow", "{}")\n'
      + 'Image.new("RGB", (16, 16), (90, 120, 40)).save(sys.argv[2], pnginfo=m, compress_level=4)\n'
      + 'a = PngInfo(); a.add_text("parameters", sys.argv[3])\nImage.new("RGB", (16, 16)).save(sys.argv[4], pnginfo=a)\n';
    const comfy = join(t.dir, 'ComfyUI_00001_.png');
    const webui = join(t.dir, '00000-1234.png');
    const r = python(['-c', script, JSON.stringify(FLUX_GRAPH), comfy, A1111_PARAMETERS.replace('café', '東京 café'), webui]);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(embeddedPrompt(readFileSync(comfy)), { prompt: 'a lighthouse at dusk, 東京 style', source: 'comfyui' });
    assert.deepEqual(embeddedPrompt(readFileSync(webui)), { prompt: 'masterpiece, a 東京 café on a rainy street,\n(wearing a hat:1.2)', source: 'a1111' });
  });
});
