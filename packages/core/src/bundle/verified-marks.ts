import { createHash } from 'node:crypto';
import { mkdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { defaultCacheDir } from './cache-dir.js';

/**
 * Records that a bundle's files were hashed and matched its manifest, so the next load checks them with a
 * stat instead of reading them again. A record names the manifest's sha256 and each file's device, inode,
 * size, modification and change times: writing to a file, replacing it or restoring its mtime afterwards
 * changes its change time, so any of those makes the files be hashed again. Records are empty files named
 * by that fingerprint under `<cache>/verified/`; where the cache cannot be written, every load hashes.
 * `files` are the manifest's, already checked to lie inside `dir`.
 */
async function fingerprint(dir: string, manifestSha256: string, files: readonly string[]): Promise<string | null> {
  const hash = createHash('sha256').update(manifestSha256);
  for (const file of [...files].sort()) {
    const s = await stat(join(dir, file), { bigint: true }).catch(() => null);
    if (!s) return null;
    hash.update(`\0${file}\0${s.dev}:${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}`);
  }
  return hash.digest('hex');
}

function markPath(cacheDir: string, print: string): string {
  return join(cacheDir, 'verified', print);
}

/** Best effort: a cache that cannot be written only means the next load hashes again. */
export async function recordVerified(dir: string, manifestSha256: string, files: readonly string[], cacheDir = defaultCacheDir()): Promise<void> {
  const print = await fingerprint(dir, manifestSha256, files);
  if (!print) return;
  await mkdir(join(cacheDir, 'verified'), { recursive: true }).then(() => writeFile(markPath(cacheDir, print), '')).catch(() => undefined);
}

/** True when these very files were hashed against this manifest before and none has changed since. */
export async function verifiedBefore(dir: string, manifestSha256: string, files: readonly string[], cacheDir = defaultCacheDir()): Promise<boolean> {
  const print = await fingerprint(dir, manifestSha256, files);
  return print !== null && (await stat(markPath(cacheDir, print)).catch(() => null)) !== null;
}
