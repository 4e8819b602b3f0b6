import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

import { BundleError } from '../errors.js';
import { sha256File } from './checksum.js';
import { listedFiles, parseManifest, resolveInside } from './load.js';

export interface DownloadOptions {
  /** Bundles land in `<cacheDir>/<sha256 of manifest.json>/`. */
  cacheDir: string;
  /** Pin the published manifest: its sha256 must match, which pins every file it lists. */
  manifestSha256?: string;
  /** Per request (default 10 minutes). */
  timeoutMs?: number;
  /** Called as bytes arrive (and once per file already in the cache), for progress displays. */
  onProgress?: (progress: DownloadProgress) => void;
}

export interface DownloadProgress {
  /** The file being fetched, as the manifest names it. */
  file: string;
  /** Bytes of the whole bundle received (or found in the cache) so far, and its total size. */
  received: number;
  total: number;
}

const MAX_MANIFEST_BYTES = 1024 * 1024;

function failure(url: string, message: string, cause?: unknown): BundleError {
  return new BundleError('DOWNLOAD_FAILED', message, { input: url, cause });
}

async function get(url: string, timeoutMs: number): Promise<Response> {
  let response: Response;
  try {
    response = await fetch(url, { redirect: 'follow', signal: AbortSignal.timeout(timeoutMs) });
  } catch (e) {
    throw failure(url, `request failed: ${(e as Error).message}`, e);
  }
  if (!response.ok || !response.body) throw failure(url, `HTTP ${response.status} ${response.statusText}`);
  return response;
}

/** Streams `url` to `path` while hashing it; refuses bodies longer than `bytes` or with another sha256. */
async function downloadFile(url: string, path: string, expected: { sha256: string; bytes: number }, timeoutMs: number, onChunk: (bytes: number) => void): Promise<void> {
  const response = await get(url, timeoutMs);
  const part = `${path}.part`;
  await mkdir(dirname(path), { recursive: true });
  const hash = createHash('sha256');
  let received = 0;
  const out = createWriteStream(part);
  try {
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      received += chunk.byteLength;
      if (received > expected.bytes) throw failure(url, `body is longer than the ${expected.bytes} bytes the manifest lists`);
      hash.update(chunk);
      onChunk(chunk.byteLength);
      if (!out.write(chunk)) await new Promise<void>((r) => out.once('drain', () => r()));
    }
    await new Promise<void>((resolve, reject) => out.end((e?: Error | null) => (e ? reject(e) : resolve())));
  } catch (e) {
    out.destroy();
    await rm(part, { force: true });
    throw e instanceof BundleError ? e : failure(url, `download broke off: ${(e as Error).message}`, e);
  }
  const digest = hash.digest('hex');
  if (received !== expected.bytes || digest !== expected.sha256) {
    await rm(part, { force: true });
    throw new BundleError('CHECKSUM_MISMATCH', `got ${received} bytes with sha256 ${digest}, the manifest lists ${expected.bytes} bytes with ${expected.sha256}`, { input: url });
  }
  await rename(part, path);
}

async function alreadyThere(path: string, expected: { sha256: string; bytes: number }): Promise<boolean> {
  const info = await stat(path).catch(() => null);
  return info !== null && info.size === expected.bytes && (await sha256File(path)) === expected.sha256;
}

/**
 * Downloads a published bundle (a URL whose `manifest.json` and files sit side by side) into the cache,
 * verifying every file's size and sha256 against the manifest. Interrupted downloads resume file by file;
 * a complete bundle is reused without network access. Returns the local folder.
 */
export async function downloadBundle(url: string, options: DownloadOptions): Promise<string> {
  const base = new URL(url.replace(/manifest\.json$/, ''));
  if (!base.pathname.endsWith('/')) base.pathname += '/';
  if (base.protocol !== 'https:' && base.protocol !== 'http:') throw failure(url, 'only http(s) URLs can be downloaded');
  const timeoutMs = options.timeoutMs ?? 600_000;

  const manifestUrl = new URL('manifest.json', base).href;
  const response = await get(manifestUrl, timeoutMs);
  const raw = new Uint8Array(await response.arrayBuffer());
  if (raw.byteLength > MAX_MANIFEST_BYTES) throw failure(manifestUrl, `manifest.json is over ${MAX_MANIFEST_BYTES} bytes`);
  const { manifest, sha256 } = parseManifest(raw, manifestUrl);
  if (options.manifestSha256 && options.manifestSha256 !== sha256) {
    throw new BundleError('CHECKSUM_MISMATCH', `manifest.json has sha256 ${sha256}, expected ${options.manifestSha256}`, { input: manifestUrl });
  }

  const dir = join(options.cacheDir, sha256);
  if (await stat(join(dir, 'manifest.json')).catch(() => null)) return dir;
  await mkdir(dir, { recursive: true });
  const files = listedFiles(manifest);
  const total = files.reduce((sum, f) => sum + f.bytes, 0);
  let received = 0;
  for (const expected of files) {
    const path = resolveInside(dir, expected.file);
    if (await alreadyThere(path, expected)) {
      received += expected.bytes;
      options.onProgress?.({ file: expected.file, received, total });
      continue;
    }
    const start = received;
    await downloadFile(new URL(expected.file, base).href, path, expected, timeoutMs, (bytes) => {
      received += bytes;
      options.onProgress?.({ file: expected.file, received, total });
    }).catch((e: unknown) => {
      received = start;
      throw e;
    });
  }
  // The manifest is written last: its presence marks a complete bundle.
  await writeFile(join(dir, 'manifest.json.part'), raw);
  await rename(join(dir, 'manifest.json.part'), join(dir, 'manifest.json'));
  return dir;
}
