import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';

/**
 * Counts the files opened for reading with fs.createReadStream (how the bundle code hashes a file) while
 * `run` runs: ESM imports of node:fs see the counting version through syncBuiltinESMExports.
 */
export async function countFileReads<T>(run: () => Promise<T>): Promise<{ result: T; reads: string[] }> {
  const original = fs.createReadStream;
  const reads: string[] = [];
  fs.createReadStream = ((path: fs.PathLike, options?: unknown) => {
    reads.push(String(path));
    return original(path, options as Parameters<typeof original>[1]);
  }) as typeof fs.createReadStream;
  syncBuiltinESMExports();
  try {
    return { result: await run(), reads };
  } finally {
    fs.createReadStream = original;
    syncBuiltinESMExports();
  }
}
