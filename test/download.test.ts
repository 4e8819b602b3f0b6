import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';

import { BundleError, createScorer, downloadBundle, isFailure, loadBundle } from '@clip-agiqa/core';

import { DEMO_MODEL_DIR, IMAGES, tempDir } from './support/helpers.js';

/** Serves the demo bundle's files over HTTP on loopback; `tamper` corrupts one file on the wire. */
function serveBundle(options: { tamper?: string; cutAfter?: string; requests?: string[] } = {}): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    const file = decodeURIComponent(new URL(req.url!, 'http://x').pathname.replace(/^\/models\/tiny\//, ''));
    options.requests?.push(file);
    let body: Buffer;
    try {
      body = readFileSync(join(DEMO_MODEL_DIR, file));
    } catch {
      res.writeHead(404).end('not found');
      return;
    }
    if (file === options.tamper) body = Buffer.concat([body.subarray(0, 100), Buffer.from([body[100]! ^ 1]), body.subarray(101)]);
    if (file === options.cutAfter) {
      res.writeHead(200, { 'content-length': body.length });
      res.write(body.subarray(0, 1000));
      res.destroy();
      return;
    }
    res.writeHead(200, { 'content-length': body.length }).end(body);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => {
    resolve({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/models/tiny/`, server });
  }));
}

describe('published bundle download', () => {
  const manifestSha = readFileSync(join(DEMO_MODEL_DIR, 'manifest.json'));
  let expectedSha = '';
  before(async () => {
    expectedSha = (await loadBundle(DEMO_MODEL_DIR)).manifestSha256;
  });

  it('downloads every file, verifies it, and then works offline from the cache', async () => {
    using cache = tempDir();
    const requests: string[] = [];
    const { url, server } = await serveBundle({ requests });
    const dir = await downloadBundle(url, { cacheDir: cache.dir, manifestSha256: expectedSha });
    server.close();
    assert.equal(dir, join(cache.dir, expectedSha));
    assert.deepEqual(readFileSync(join(dir, 'manifest.json')), manifestSha);
    assert.ok(requests.includes('image_encoder.onnx') && requests.includes('heads/quality.safetensors'));
    const bundle = await loadBundle(dir);
    assert.equal(bundle.manifestSha256, expectedSha);

    // The server is gone: a scorer given the URL can still not reach it, so use the cache folder directly.
    const scorer = await createScorer({ model: dir });
    assert.ok(!isFailure(await scorer.score(join(IMAGES, 'landscape.jpg'))));
    await scorer.close();
  });

  it('lets createScorer take the URL itself', async () => {
    using cache = tempDir();
    const { url, server } = await serveBundle();
    try {
      const scorer = await createScorer({ model: url, cacheDir: cache.dir });
      assert.equal(scorer.model.manifestSha256, expectedSha);
      await scorer.close();
    } finally {
      server.close();
    }
  });

  it('refuses a file altered in transit and keeps no partial bundle', async () => {
    using cache = tempDir();
    const { url, server } = await serveBundle({ tamper: 'image_encoder.onnx' });
    try {
      await assert.rejects(downloadBundle(url, { cacheDir: cache.dir }), (e: BundleError) => e.code === 'CHECKSUM_MISMATCH' && /image_encoder\.onnx/.test(e.message));
      await assert.rejects(loadBundle(join(cache.dir, expectedSha)), (e: BundleError) => e.code === 'BUNDLE_NOT_FOUND');
    } finally {
      server.close();
    }
  });

  it('resumes after a broken transfer, fetching only what is missing', async () => {
    using cache = tempDir();
    const broken = await serveBundle({ cutAfter: 'image_encoder.onnx' });
    await assert.rejects(downloadBundle(broken.url, { cacheDir: cache.dir }), (e: BundleError) => e.code === 'DOWNLOAD_FAILED');
    broken.server.close();
    const requests: string[] = [];
    const { url, server } = await serveBundle({ requests });
    try {
      await downloadBundle(url, { cacheDir: cache.dir });
      assert.ok(requests.includes('image_encoder.onnx'));
      await loadBundle(join(cache.dir, expectedSha));
      requests.length = 0;
      await downloadBundle(url, { cacheDir: cache.dir });
      assert.deepEqual(requests, ['manifest.json'], 'a complete bundle is reused');
    } finally {
      server.close();
    }
  });

  it('refuses a manifest that does not match the pinned checksum, and unreachable or missing bundles', async () => {
    using cache = tempDir();
    const { url, server } = await serveBundle();
    try {
      await assert.rejects(downloadBundle(url, { cacheDir: cache.dir, manifestSha256: '0'.repeat(64) }), (e: BundleError) => e.code === 'CHECKSUM_MISMATCH');
      await assert.rejects(downloadBundle(url.replace('/tiny/', '/nothing/'), { cacheDir: cache.dir }), (e: BundleError) => e.code === 'DOWNLOAD_FAILED' && /404/.test(e.message));
    } finally {
      server.close();
    }
    await assert.rejects(downloadBundle(url, { cacheDir: cache.dir, timeoutMs: 2000 }), (e: BundleError) => e.code === 'DOWNLOAD_FAILED');
    await assert.rejects(downloadBundle('ftp://127.0.0.1/x/', { cacheDir: cache.dir }), (e: BundleError) => e.code === 'DOWNLOAD_FAILED');
  });

  it('reports progress through the whole bundle, file by file, ending at its full size', async () => {
    using cache = tempDir();
    const { url, server } = await serveBundle();
    const events: { file: string; received: number; total: number | null }[] = [];
    try {
      const scorer = await createScorer({ model: url, cacheDir: cache.dir, onDownloadProgress: (p) => events.push(p) });
      await scorer.close();
    } finally {
      server.close();
    }
    const bundle = await loadBundle(DEMO_MODEL_DIR);
    const total = Object.values(bundle.manifest.files as Record<string, { bytes: number }>).reduce((a, f) => a + f.bytes, 0);
    assert.ok(events.length > 2);
    assert.ok(events.every((e) => e.total === total));
    for (let i = 1; i < events.length; i++) assert.ok(events[i]!.received >= events[i - 1]!.received, 'received only grows');
    assert.equal(events.at(-1)!.received, total);
    assert.ok(events.some((e) => e.file === 'image_encoder.onnx'));
  });
});
