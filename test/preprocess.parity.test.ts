import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import { loadBundle } from '@clip-agiqa/core';
import { clipPixels, pilBicubicResize, preprocessConfig } from '@clip-agiqa/core/internal';
import sharp from 'sharp';

import { AGIQA3K, DEMO_MODEL_DIR, pixelDiff, python, pythonUnavailable, tempDir } from './support/helpers.js';

const manifest = (await loadBundle(DEMO_MODEL_DIR)).manifest;
const exact = preprocessConfig(manifest.preprocess);
const fast = preprocessConfig(manifest.preprocess, 'libvips');

describe('PIL bicubic (WebAssembly kernel) against PIL and transformers', () => {
  const unavailable = pythonUnavailable(['PIL', 'numpy']);
  it('crops as transformers\' CLIPImageProcessor for hub imports (floor) and as torchvision otherwise (half-even)', { skip: pythonUnavailable(['PIL', 'numpy', 'transformers']) ?? false }, async () => {
    using t = tempDir();
    // 225x301 resizes to 224x299: the crop offset is 37.5, 37 in transformers, 38 in torchvision.
    const path = join(t.dir, 'tall.png');
    await sharp(Buffer.from(Array.from({ length: 225 * 301 * 3 }, (_, i) => (i * 7919) % 251)), { raw: { width: 225, height: 301, channels: 3 } }).png().toFile(path);
    const r = python(['-c', 'import sys, numpy as np; from PIL import Image; from transformers import CLIPImageProcessor; '
      + 'p = CLIPImageProcessor(size={"shortest_edge": 224}, crop_size={"height": 224, "width": 224}, do_rescale=False, do_normalize=False); '
      + 'x = p(Image.open(sys.argv[1]).convert("RGB"), return_tensors="np")["pixel_values"][0]; '
      + 'print(np.round(x).astype(np.uint8).transpose(1, 2, 0).tobytes().hex())', path]);
    assert.equal(r.status, 0, r.stderr);
    const processor = new Uint8Array(Buffer.from(r.stdout.trim(), 'hex'));
    const hub = await clipPixels(path, 'tall', { ...exact, cropRounding: 'floor' });
    assert.equal(pixelDiff(hub, processor).max, 0, 'floor matches CLIPImageProcessor');
    assert.ok(pixelDiff(await clipPixels(path, 'tall', exact), processor).max > 0, 'half-even is one row off');
  });

  it('is bit-identical to PIL on random images: reducing, enlarging, one axis, windows, clamped edges', { skip: unavailable ?? false }, () => {
    // [w, h, W, H, window [left, top, width, height] or null, saturated]: saturated images are 0/255 noise,
    // whose overshoots exercise the clamping; windows are compared with PIL's crop of the whole resize.
    const cases = [
      [37, 23, 224, 139, null, false], [300, 200, 97, 65, null, false], [1000, 700, 224, 156, null, false],
      [5, 9, 3, 224, null, false], [64, 64, 64, 65, null, false], [1, 1, 7, 5, null, false],
      [2000, 3, 224, 3, null, true], [3, 1500, 3, 224, null, true], [640, 427, 335, 224, [55, 0, 224, 224], true],
      [360, 540, 224, 336, [0, 56, 224, 224], false], [100, 80, 333, 266, [17, 9, 101, 240], true],
    ] as const;
    const script = `
import sys, json, numpy as np
from PIL import Image
out = []
for i, (w, h, W, H, box, saturated) in enumerate(json.loads(sys.argv[1])):
    rng = np.random.default_rng(i)
    a = (rng.integers(0, 2, (h, w, 3), dtype=np.uint8) * 255) if saturated else rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    r = Image.fromarray(a).resize((W, H), Image.BICUBIC)
    if box: r = r.crop((box[0], box[1], box[0] + box[2], box[1] + box[3]))
    out.append({"src": a.tobytes().hex(), "dst": np.asarray(r).tobytes().hex()})
print(json.dumps(out))`;
    const r = python(['-c', script, JSON.stringify(cases)]);
    assert.equal(r.status, 0, r.stderr);
    const results = JSON.parse(r.stdout) as { src: string; dst: string }[];
    cases.forEach(([w, h, W, H, box], i) => {
      const window = box ? { left: box[0], top: box[1], width: box[2], height: box[3] } : undefined;
      const ours = pilBicubicResize(Buffer.from(results[i]!.src, 'hex'), w, h, W, H, window);
      const ref = Buffer.from(results[i]!.dst, 'hex');
      assert.equal(ours.length, ref.length, `${w}x${h} -> ${W}x${H} ${box ?? ''}`);
      assert.equal(pixelDiff(ours, ref).max, 0, `${w}x${h} -> ${W}x${H} ${box ?? ''}`);
    });
  });
});

describe('AGIQA-3K preprocessing parity (real generated images)', () => {
  const unavailable = pythonUnavailable(['PIL', 'numpy']);
  let names: string[] = [];
  try {
    names = readdirSync(join(AGIQA3K, 'images')).sort().filter((_, i) => i % 100 === 0);
  } catch {
    /* dataset absent */
  }
  const skip = unavailable ?? (names.length === 0 ? 'AGIQA-3K images not found beside the project' : false);
  it(`matches PIL on ${names.length} AGIQA-3K images: exactly by default, within mean 0.25 with libvips`, { skip }, async () => {
    const script = `
import sys, os
sys.path.insert(0, "tools/export")
from clip_agiqa_export.preprocess import preprocess_file
for n in sys.argv[2:]:
    sys.stdout.write(preprocess_file(os.path.join(sys.argv[1], n), 224).tobytes().hex() + "\\n")`;
    const r = python(['-c', script, join(AGIQA3K, 'images'), ...names]);
    assert.equal(r.status, 0, r.stderr);
    const refs = r.stdout.trim().split('\n');
    let worstMean = 0;
    let worstMax = 0;
    for (const [i, name] of names.entries()) {
      const golden = Buffer.from(refs[i]!, 'hex');
      assert.equal(pixelDiff(await clipPixels(join(AGIQA3K, 'images', name), name, exact), golden).max, 0, name);
      const d = pixelDiff(await clipPixels(join(AGIQA3K, 'images', name), name, fast), golden);
      worstMean = Math.max(worstMean, d.mean);
      worstMax = Math.max(worstMax, d.max);
    }
    // libvips' reduction reaches 8/255 at a few sharp edges of generated images: why pil is the default.
    assert.ok(worstMean <= 0.25 && worstMax <= 10, `libvips: worst mean ${worstMean} max ${worstMax}`);
  });
});
