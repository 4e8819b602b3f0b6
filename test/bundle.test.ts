import assert from 'node:assert/strict';
import { readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';

import { BundleError, loadBundle, type ModelBundleManifest } from '@clip-agiqa/core';
import { parseSafetensors } from '@clip-agiqa/core/internal';

import { countFileReads } from './support/file-reads.js';
import { copyDemoBundle, DEMO_MODEL_DIR, tempDir } from './support/helpers.js';

function editManifest(dir: string, edit: (m: ModelBundleManifest & Record<string, unknown>) => void): void {
  const path = join(dir, 'manifest.json');
  const m = JSON.parse(readFileSync(path, 'utf8')) as ModelBundleManifest & Record<string, unknown>;
  edit(m);
  writeFileSync(path, JSON.stringify(m));
}

async function rejectsWith(promise: Promise<unknown>, code: string, pattern?: RegExp): Promise<void> {
  await assert.rejects(promise, (e: unknown) => {
    assert.ok(e instanceof BundleError, `expected a BundleError, got ${String(e)}`);
    assert.equal(e.code, code);
    if (pattern) assert.match(e.message, pattern);
    return true;
  });
}

describe('model bundle', () => {
  it('loads the demo bundle, verifies checksums and flags it untrained', async () => {
    const b = await loadBundle(DEMO_MODEL_DIR);
    assert.equal(b.manifest.format, 'clip-agiqa-bundle');
    assert.equal(b.untrained, true);
    assert.deepEqual(b.heads.map((h) => h.name), ['quality']);
    assert.equal(b.heads[0]!.embedDim, b.manifest.backbone.embed_dim);
    assert.match(b.manifestSha256, /^[0-9a-f]{64}$/);
    assert.deepEqual(b.precisions(), ['fp32', 'int8']);
    assert.ok(b.manifest.image_encoder.accuracy!.int8!.min_cosine > 0.995);
    assert.ok(b.imageEncoderPath().endsWith('image_encoder.onnx'));
    assert.throws(() => b.imageEncoderPath('fp16'), (e: BundleError) => e.code === 'BUNDLE_MISSING_FILE' && /available: fp32, int8/.test(e.message));
  });

  it('refuses a folder without manifest.json', async () => {
    using t = tempDir();
    await rejectsWith(loadBundle(t.dir), 'BUNDLE_NOT_FOUND');
  });

  it('refuses a missing file, naming it', async () => {
    using t = tempDir();
    copyDemoBundle(t.dir);
    rmSync(join(t.dir, 'heads/quality.safetensors'));
    await rejectsWith(loadBundle(t.dir), 'BUNDLE_MISSING_FILE', /heads\/quality\.safetensors/);
  });

  it('refuses a file whose bytes changed (same size)', async () => {
    using t = tempDir();
    copyDemoBundle(t.dir);
    const path = join(t.dir, 'image_encoder.onnx');
    const bytes = readFileSync(path);
    bytes[bytes.length - 10]! ^= 0xff;
    writeFileSync(path, bytes);
    await rejectsWith(loadBundle(t.dir), 'CHECKSUM_MISMATCH', /image_encoder\.onnx has sha256/);
  });

  it('hashes a bundle once: later loads check the files by a stat and still catch a file changed since', async () => {
    using t = tempDir();
    const dir = copyDemoBundle(join(t.dir, 'bundle'));
    const cacheDir = join(t.dir, 'cache');
    const listed = Object.keys(JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')).files as object);
    const first = await countFileReads(() => loadBundle(dir, { cacheDir }));
    assert.deepEqual(first.reads.map((p) => relative(dir, p)).sort(), listed.sort(), 'every listed file hashed once');
    const again = await countFileReads(() => loadBundle(dir, { cacheDir }));
    assert.deepEqual(again.reads, [], 'nothing read again');
    // A copy elsewhere is other files: hashed again.
    const copy = copyDemoBundle(join(t.dir, 'copy'));
    assert.equal((await countFileReads(() => loadBundle(copy, { cacheDir }))).reads.length, listed.length);
    // Same size, modification time put back: the change time still tells.
    const path = join(dir, 'image_encoder.onnx');
    const { atime, mtime } = statSync(path);
    const bytes = readFileSync(path);
    bytes[bytes.length - 10]! ^= 0xff;
    writeFileSync(path, bytes);
    utimesSync(path, atime, mtime);
    await rejectsWith(loadBundle(dir, { cacheDir }), 'CHECKSUM_MISMATCH', /image_encoder\.onnx has sha256/);
  });

  it('refuses unknown format versions before schema checks', async () => {
    using t = tempDir();
    copyDemoBundle(t.dir);
    editManifest(t.dir, (m) => { m.format_version = 2; m.new_field = 1; });
    await rejectsWith(loadBundle(t.dir), 'UNSUPPORTED_BUNDLE_VERSION', /format_version 2/);
  });

  it('refuses schema violations with the offending field', async () => {
    using t = tempDir();
    copyDemoBundle(t.dir);
    editManifest(t.dir, (m) => { m.surprise = true; });
    await rejectsWith(loadBundle(t.dir), 'SCHEMA_VIOLATION', /surprise/);
    copyDemoBundle(t.dir);
    editManifest(t.dir, (m) => { m.preprocess.std = [0, 1, 1]; });
    await rejectsWith(loadBundle(t.dir), 'SCHEMA_VIOLATION', /preprocess\/std/);
    copyDemoBundle(t.dir);
    writeFileSync(join(t.dir, 'manifest.json'), '{ not json');
    await rejectsWith(loadBundle(t.dir), 'SCHEMA_VIOLATION', /not JSON/);
  });

  it('refuses paths that leave the bundle folder', async () => {
    using t = tempDir();
    copyDemoBundle(t.dir);
    editManifest(t.dir, (m) => { m.heads[0]!.file = '../../etc/passwd'; });
    await rejectsWith(loadBundle(t.dir), 'SCHEMA_VIOLATION', /heads\/0\/file/);
  });

  it('refuses a file that is used but has no checksum', async () => {
    using t = tempDir();
    copyDemoBundle(t.dir);
    editManifest(t.dir, (m) => { delete m.files['heads/quality.safetensors']; });
    await rejectsWith(loadBundle(t.dir), 'SCHEMA_VIOLATION', /no checksum/);
  });

  it('refuses a head whose tensors do not fit the embedding size', async () => {
    using t = tempDir();
    copyDemoBundle(t.dir);
    editManifest(t.dir, (m) => { m.backbone.embed_dim = 32; });
    await rejectsWith(loadBundle(t.dir), 'BAD_TENSOR', /text_features has shape \[6,64\], expected \[6,32\]/);
  });

  it('refuses a head whose tensor names do not fit its kind', async () => {
    using t = tempDir();
    copyDemoBundle(t.dir);
    editManifest(t.dir, (m) => { delete m.heads[0]!.tensors.fc2_bias; });
    await rejectsWith(loadBundle(t.dir), 'SCHEMA_VIOLATION', /heads\/0\/tensors.*fc2_bias/);
    copyDemoBundle(t.dir);
    editManifest(t.dir, (m) => { m.heads[0]!.tensors.logit_scale = 'logit_scale'; });
    await rejectsWith(loadBundle(t.dir), 'SCHEMA_VIOLATION', /heads\/0\/tensors.*logit_scale/);
    copyDemoBundle(t.dir);
    editManifest(t.dir, (m) => { m.heads[0]!.kind = 'clip-agiqa-anchored'; });
    await rejectsWith(loadBundle(t.dir), 'SCHEMA_VIOLATION', /categories/);
  });

  it('refuses duplicate head names', async () => {
    using t = tempDir();
    copyDemoBundle(t.dir);
    editManifest(t.dir, (m) => { m.heads.push({ ...m.heads[0]! }); });
    await rejectsWith(loadBundle(t.dir), 'SCHEMA_VIOLATION', /two heads are named quality/);
  });
});

describe('safetensors', () => {
  function file(header: object, data: Uint8Array): Uint8Array {
    const json = Buffer.from(JSON.stringify(header));
    const size = Buffer.alloc(8);
    size.writeBigUInt64LE(BigInt(json.length));
    return Buffer.concat([size, json, data]);
  }

  it('reads F32, F16 and BF16 tensors', () => {
    const f32 = new Float32Array([1.5, -2]);
    const f16 = new Uint16Array([0x3c00, 0xc000]); // 1, -2
    const bf16 = new Uint16Array([0x3fc0, 0xc000]); // 1.5, -2
    const data = Buffer.concat([Buffer.from(f32.buffer), Buffer.from(f16.buffer), Buffer.from(bf16.buffer)]);
    const t = parseSafetensors(file({
      a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
      b: { dtype: 'F16', shape: [1, 2], data_offsets: [8, 12] },
      c: { dtype: 'BF16', shape: [2], data_offsets: [12, 16] },
      __metadata__: { x: 'y' },
    }, data), 'test');
    assert.deepEqual([...t.get('a')!.data], [1.5, -2]);
    assert.deepEqual([...t.get('b')!.data], [1, -2]);
    assert.deepEqual(t.get('b')!.shape, [1, 2]);
    assert.deepEqual([...t.get('c')!.data], [1.5, -2]);
  });

  it('refuses offsets that do not match the shape, and truncated files', () => {
    assert.throws(() => parseSafetensors(file({ a: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, new Uint8Array(8)), 't'), /data offsets/);
    assert.throws(() => parseSafetensors(file({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } }, new Uint8Array(4)), 't'), /data offsets/);
    assert.throws(() => parseSafetensors(new Uint8Array(4), 't'), /shorter/);
    assert.throws(() => parseSafetensors(file({ a: { dtype: 'C64', shape: [1], data_offsets: [0, 8] } }, new Uint8Array(8)), 't'), /unsupported dtype/);
  });
});
