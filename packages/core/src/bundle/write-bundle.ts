import { stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import type { ModelBundleManifest } from '../generated/model-bundle.js';
import { sha256, sha256File } from './checksum.js';
import type { FileDigest } from './fetch-verified.js';
import { loadBundle, type Bundle } from './load.js';
import { recordVerified } from './verified-marks.js';

export interface WriteBundleOptions {
  /** Digests already known for some of the files (checked as they were downloaded or loaded): a file of that size is not hashed again. */
  knownDigests?: ReadonlyMap<string, FileDigest>;
  /** Where the record that the files were verified goes (default: the model cache). */
  cacheDir?: string;
}

/**
 * Finishes a bundle whose files are in `out`: checksums every listed file (hashing only those without a
 * known digest), writes manifest.json last, records the files as verified and loads the bundle back, so
 * what is returned is what a later `loadBundle(out)` gives. The one writer for imports and training.
 */
export async function writeBundle(out: string, manifest: Omit<ModelBundleManifest, 'files'>, listed: readonly string[], options: WriteBundleOptions = {}): Promise<Bundle> {
  const files: ModelBundleManifest['files'] = {};
  for (const file of [...new Set(listed)].sort()) {
    const bytes = (await stat(join(out, file))).size;
    const known = options.knownDigests?.get(file);
    files[file] = { sha256: known && known.bytes === bytes ? known.sha256 : await sha256File(join(out, file)), bytes };
  }
  const raw = Buffer.from(`${JSON.stringify({ ...manifest, files }, null, 2)}\n`);
  await writeFile(join(out, 'manifest.json'), raw);
  await recordVerified(out, sha256(raw), Object.keys(files), options.cacheDir);
  return loadBundle(out, options.cacheDir ? { cacheDir: options.cacheDir } : {});
}
