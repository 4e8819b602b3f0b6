import { mkdir, rename, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { BundleError } from '../errors.js';
import { downloadVerified, fetchFailure, request } from './fetch-verified.js';
import { listedFiles, parseManifest, resolveInside } from './load.js';
import { recordVerified } from './verified-marks.js';

export interface DownloadOptions {
  /** Bundles land in `<cacheDir>/<sha256 of manifest.json>/`. */
  cacheDir: string;
  /** Pin the published manifest: its sha256 must match, which pins every file it lists. */
  manifestSha256?: string;
  /** Abort a request when no byte arrives for this long (default 60 s). */
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

/**
 * Downloads a published bundle (a URL whose `manifest.json` and files sit side by side) into the cache,
 * verifying every file's size and sha256 against the manifest as it arrives (and recording that, so the
 * first load does not hash it again). An interrupted download resumes where it broke off; a complete bundle
 * is reused without network access. Returns the local folder.
 */
export async function downloadBundle(url: string, options: DownloadOptions): Promise<string> {
  const base = new URL(url.replace(/manifest\.json$/, ''));
  if (!base.pathname.endsWith('/')) base.pathname += '/';
  if (base.protocol !== 'https:' && base.protocol !== 'http:') throw fetchFailure(url, 'only http(s) URLs can be downloaded');
  const fetchOptions = options.timeoutMs !== undefined ? { stallTimeoutMs: options.timeoutMs } : {};

  const manifestUrl = new URL('manifest.json', base).href;
  const { response, done } = await request(manifestUrl, fetchOptions);
  let raw: Uint8Array;
  try {
    raw = new Uint8Array(await response.arrayBuffer());
  } catch (e) {
    throw fetchFailure(manifestUrl, `download broke off: ${(e as Error).message}`, { cause: e });
  } finally {
    done();
  }
  if (raw.byteLength > MAX_MANIFEST_BYTES) throw fetchFailure(manifestUrl, `manifest.json is over ${MAX_MANIFEST_BYTES} bytes`);
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
    const start = received;
    await downloadVerified(new URL(expected.file, base).href, resolveInside(dir, expected.file), { expected: { sha256: expected.sha256 }, size: expected.bytes }, 'the manifest', {
      ...fetchOptions,
      onBytes: (bytes) => options.onProgress?.({ file: expected.file, received: start + bytes, total }),
    });
    received = start + expected.bytes;
    options.onProgress?.({ file: expected.file, received, total });
  }
  // The manifest is written last: its presence marks a complete bundle.
  await writeFile(join(dir, 'manifest.json.part'), raw);
  await rename(join(dir, 'manifest.json.part'), join(dir, 'manifest.json'));
  await recordVerified(dir, sha256, files.map((f) => f.file));
  return dir;
}
