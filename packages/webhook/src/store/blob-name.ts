import { createHash } from 'node:crypto';

import { StoreError } from '../errors.js';

/** A blob's name: named by job and candidate, not by content alone, so dropping one job's blobs can never take another's. */
export function blobName(jobId: string, candidate: number, bytes: Uint8Array): string {
  return createHash('sha256').update(`${jobId}\0${candidate}\0`).update(bytes).digest('hex');
}

export function checkBlobName(name: string): void {
  if (!/^[0-9a-f]{64}$/.test(name)) throw new StoreError(`not a blob name: ${name}`);
}
