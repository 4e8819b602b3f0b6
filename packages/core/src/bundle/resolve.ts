import { homedir } from 'node:os';
import { join } from 'node:path';

import { downloadBundle, type DownloadOptions } from './download.js';

export function defaultCacheDir(): string {
  return process.env.CLIP_AGIQA_CACHE ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'clip-agiqa');
}

/** A model reference to a local folder: URLs are downloaded into the cache first. */
export async function resolveModel(model: string, options: { cacheDir?: string | undefined; onProgress?: DownloadOptions['onProgress'] } = {}): Promise<string> {
  if (/^https?:\/\//i.test(model)) {
    return downloadBundle(model, { cacheDir: options.cacheDir ?? defaultCacheDir(), ...(options.onProgress ? { onProgress: options.onProgress } : {}) });
  }
  return model;
}
