import { defaultCacheDir } from './cache-dir.js';
import { downloadBundle, type DownloadOptions } from './download.js';
import type { ImportOptions } from './import/import-model.js';

export { defaultCacheDir };

export interface ResolveOptions {
  cacheDir?: string | undefined;
  /** Progress of a bundle download. */
  onProgress?: DownloadOptions['onProgress'];
  /** Options of the import `hf:` models get on first use (progress, endpoint, token). */
  hub?: Omit<ImportOptions, 'out' | 'cacheDir'>;
}

/**
 * A model reference to a local folder: URLs of published bundles are downloaded into the cache first, and
 * `hf:OWNER/NAME[@REVISION]` CLIPs are imported into it on first use (with their zero-shot heads) and
 * reused afterwards.
 */
export async function resolveModel(model: string, options: ResolveOptions = {}): Promise<string> {
  const cacheDir = options.cacheDir ?? defaultCacheDir();
  if (/^https?:\/\//i.test(model)) return downloadBundle(model, { cacheDir, ...(options.onProgress ? { onProgress: options.onProgress } : {}) });
  if (model.startsWith('hf:')) {
    // The hub client and the importer load only when a model needs importing.
    const { importModel } = await import('./import/import-model.js');
    return (await importModel(model, { ...options.hub, cacheDir })).bundle.dir;
  }
  return model;
}
