import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import { InputError, loadBundle } from '@clip-agiqa/core';
import { clipPixels, pilBicubicResize, preprocessConfig, shortestEdgeSize, sniffFormat } from '@clip-agiqa/core/internal';
import sharp from 'sharp';

import { DEMO_MODEL_DIR, goldenPixels, IMAGES, ORDINARY, pixelDiff, ROOT, tempDir, writePngBomb } from './support/helpers.js';

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
