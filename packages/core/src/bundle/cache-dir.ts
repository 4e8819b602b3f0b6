import { homedir } from 'node:os';
import { join } from 'node:path';

/** Where downloads, imports and records of verified bundles live: $CLIP_AGIQA_CACHE, else the user's cache folder. */
export function defaultCacheDir(): string {
  return process.env.CLIP_AGIQA_CACHE ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'clip-agiqa');
}
