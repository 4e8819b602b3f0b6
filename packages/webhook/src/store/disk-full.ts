import { statfs } from 'node:fs/promises';

import { StoreFullError } from '../errors.js';

/** Below this much free space a failed write is taken for a full disk, whatever error the write reported. */
const NEARLY_FULL_BYTES = 4 << 20;

/**
 * A failed write as the caller should see it: a StoreFullError when the disk under `dir` is full, the
 * error itself otherwise. LMDB reports a full disk as EIO from its commit, so free space decides.
 */
export async function classifyWriteError(dir: string, e: unknown): Promise<unknown> {
  const code = (e as NodeJS.ErrnoException)?.code;
  if (code === 'ENOSPC' || code === 'EDQUOT') return new StoreFullError(dir, e as Error);
  try {
    const fs = await statfs(dir);
    if (fs.bavail * fs.bsize < NEARLY_FULL_BYTES) return new StoreFullError(dir, e as Error);
  } catch {
    // the folder went away: report the write's own error
  }
  return e;
}
