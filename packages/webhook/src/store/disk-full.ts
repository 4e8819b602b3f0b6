import { statfs } from 'node:fs/promises';
import { constants } from 'node:os';

import { StoreFullError } from '../errors.js';

/** LMDB reports the system's error number. */
const { ENOSPC, EDQUOT } = constants.errno;
/** Below this much free space a failed write is taken for a full disk, whatever error the write reported. */
const NEARLY_FULL_BYTES = 4 << 20;

/**
 * A failed write as the caller should see it: a StoreFullError when the disk under `dir` is full, the
 * error itself otherwise. Free space decides where the error is not one of a full disk (EIO from a write through a mapping).
 */
export async function classifyWriteError(dir: string, e: unknown): Promise<unknown> {
  const code = (e as { code?: unknown })?.code;
  if (code === 'ENOSPC' || code === 'EDQUOT' || code === ENOSPC || code === EDQUOT) return new StoreFullError(dir, e as Error);
  try {
    const fs = await statfs(dir);
    if (fs.bavail * fs.bsize < NEARLY_FULL_BYTES) return new StoreFullError(dir, e as Error);
  } catch {
    // the folder went away: report the write's own error
  }
  return e;
}
