import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import { InputError, loadBundle } from '@clip-agiqa/core';
import { clipPixels, pilBicubicResize, preprocessConfig, shortestEdgeSize, sniffFormat } from '@clip-agiqa/core/internal';
import sharp from 'sharp';

import { AGIQA3K, DEMO_MODEL_DIR, goldenPixels, IMAGES, ORDINARY, pixelDiff, python, pythonUnavailable, ROOT, tempDir, writePngBomb } from './support/helpers.js';

const manifest = (await loadBundle(DEMO_MODEL_DIR)).manifest;
const exact = preprocessConfig(manifest.preprocess);
const fast = preprocessConfig(manifest.preprocess, 'libvips');
const goldens = goldenPixels();

describe('CLIP preprocessing against the PIL goldens', () => {
  it('matches PIL within mean 0.25 / max 4 (0-255) on ordinary photos with the libvips resampler', async () => {
    for (const name of ORDINARY) {
      const d = pixelDiff(await clipPixels(join(IMAGES, name), name, fast), goldens.get(name)!);
      assert.ok(d.mean <= 0.25 && d.max <= 4, `${name}: mean ${d.mean.toFixed(3)} max ${d.max}`);
    }
  });

  it('is bit-identical to PIL with the default resampler (greyscale, 16-bit, EXIF, GIF included)', async () => {
    for (const name of [...ORDINARY, 'grey.png', 'grey16.png', 'animated.gif']) {
      const d = pixelDiff(await clipPixels(join(IMAGES, name), name, exact), goldens.get(name)!);
      assert.equal(d.max, 0, `${name}: mean ${d.mean} max ${d.max}`);
    }
  });

  it('stays close to PIL where decoders legitimately differ (alpha compositing rounding)', async () => {
    const d = pixelDiff(await clipPixels(join(IMAGES, 'alpha.png'), 'alpha', exact), goldens.get('alpha.png')!);
    assert.ok(d.mean <= 0.5 && d.max <= 4, `alpha: mean ${d.mean} max ${d.max}`);
  });

  it('converts CMYK through its colour profile, unlike PIL (documented difference)', async () => {
    const d = pixelDiff(await clipPixels(join(IMAGES, 'cmyk.jpg'), 'cmyk', exact), goldens.get('cmyk.jpg')!);
    assert.ok(d.mean > 5, `CMYK now matches PIL's naive conversion (mean ${d.mean}): update the README`);
  });

  it('computes torchvision\'s resize and crop geometry', () => {
    assert.deepEqual(shortestEdgeSize(640, 427, 224), { width: 335, height: 224 });
    assert.deepEqual(shortestEdgeSize(360, 540, 224), { width: 224, height: 336 });
    assert.deepEqual(shortestEdgeSize(512, 512, 224), { width: 224, height: 224 });
  });
});

describe('PIL bicubic (WebAssembly kernel)', () => {
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

  it('gives a large image a kernel of its own and still serves small ones after', () => {
    const big = new Uint8Array(4000 * 3000 * 3).map((_, i) => (i * 2654435761) >>> 24);
    const small = new Uint8Array(40 * 30 * 3).map((_, i) => (i * 40503) & 255);
    const before = pilBicubicResize(small, 40, 30, 20, 15);
    assert.equal(pilBicubicResize(big, 4000, 3000, 299, 224).length, 299 * 224 * 3);
    assert.deepEqual(pilBicubicResize(small, 40, 30, 20, 15), before);
  });

  it('is the compiled form of its AssemblyScript source', () => {
    const r = spawnSync(process.execPath, [join(ROOT, 'scripts/gen-wasm.mjs'), '--check'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
  });

  it('refuses a window outside the output and pixels of the wrong size', () => {
    assert.throws(() => pilBicubicResize(new Uint8Array(12), 2, 2, 4, 4, { left: 2, top: 0, width: 3, height: 1 }), /not inside 4x4/);
    assert.throws(() => pilBicubicResize(new Uint8Array(11), 2, 2, 4, 4), /11 bytes are not 2x2 RGB pixels/);
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

describe('format sniffing and refusals', () => {
  it('recognises containers by their bytes', async () => {
    const png = readFileSync(join(IMAGES, 'square.png'));
    assert.equal(sniffFormat(png), 'png');
    assert.equal(sniffFormat(readFileSync(join(IMAGES, 'landscape.jpg'))), 'jpeg');
    assert.equal(sniffFormat(readFileSync(join(IMAGES, 'wide.webp'))), 'webp');
    assert.equal(sniffFormat(readFileSync(join(IMAGES, 'animated.gif'))), 'gif');
    assert.equal(sniffFormat(await sharp(png).avif().toBuffer()), 'avif');
    assert.equal(sniffFormat(await sharp(png).tiff().toBuffer()), 'tiff');
    assert.equal(sniffFormat(Buffer.from('\uFEFF  <?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"/>')), 'svg');
    assert.equal(sniffFormat(Buffer.from('%PDF-1.7\n')), 'pdf');
    assert.equal(sniffFormat(Buffer.from('hello, world')), 'unknown');
    assert.equal(sniffFormat(Buffer.from('BM\0\0')), 'unknown');
  });

  it('refuses SVG unless explicitly enabled, and decodes it when enabled', async () => {
    const svg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="64" height="48"><rect width="64" height="48" fill="red"/></svg>');
    await assert.rejects(clipPixels(svg, 'a.svg', exact), (e: InputError) => e.code === 'UNSAFE_FORMAT' && /a\.svg/.test(e.message));
    const px = await clipPixels(svg, 'a.svg', exact, { maxPixels: 1e6, maxFileBytes: 1e6, allowUnsafeFormats: true });
    assert.deepEqual([px[0], px[1], px[2]], [255, 0, 0]);
  });

  it('refuses a decompression bomb from its header, before decoding', async () => {
    using t = tempDir();
    await writePngBomb(join(t.dir, 'bomb.png'), 30000, 30000);
    const started = performance.now();
    await assert.rejects(clipPixels(join(t.dir, 'bomb.png'), 'bomb.png', exact), (e: InputError) => e.code === 'TOO_MANY_PIXELS' && /30000x30000/.test(e.message));
    assert.ok(performance.now() - started < 500, 'the refusal should not decode the image');
  });
});
