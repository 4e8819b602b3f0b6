import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import { loadBundle } from '@clip-agiqa/core';
import { cropRgb, decodeRgb, pilBicubicResize, preprocessConfig } from '@clip-agiqa/core/internal';
import { randomResizedCropBox, Rng } from '@clip-agiqa/train';

import { DEMO_MODEL_DIR, IMAGES, pixelDiff, python, pythonUnavailable } from './support/helpers.js';

describe('training views against PIL', () => {
  it('crops and resizes training views exactly as PIL does', { skip: pythonUnavailable(['PIL', 'numpy']) ?? false }, async () => {
    const manifest = (await loadBundle(DEMO_MODEL_DIR)).manifest;
    const path = join(IMAGES, 'landscape.jpg');
    const rgb = await decodeRgb(path, 'landscape', preprocessConfig(manifest.preprocess));
    const box = randomResizedCropBox(rgb.width, rgb.height, new Rng(3));
    const ours = pilBicubicResize(cropRgb(rgb.data, rgb.width, box.left, box.top, box.width, box.height), box.width, box.height, 224, 224);
    const r = python(['-c', `
import sys
from PIL import Image
im = Image.open(sys.argv[1]).convert("RGB")
l, t, w, h = map(int, sys.argv[2:6])
sys.stdout.write(im.crop((l, t, l + w, t + h)).resize((224, 224), Image.BICUBIC).tobytes().hex())`, path, String(box.left), String(box.top), String(box.width), String(box.height)]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(pixelDiff(ours, Buffer.from(r.stdout, 'hex')).max, 0);
  });
});
