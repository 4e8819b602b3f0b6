import { createReadStream } from 'node:fs';
import { rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

import type { JobRecord, StoredAnswer } from './job-store.js';

type AnswerLine = StoredAnswer & { key: string };
const BATCH = 2000;

/**
 * Streams the JSON lines of a file to `write` in batches (a line at a time, so a file of any size fits);
 * a torn line (a write the process died in, never acknowledged) is skipped. Resolves false when there is no file.
 */
async function streamLines<T>(path: string, write: (batch: T[]) => Promise<unknown>): Promise<boolean> {
  try {
    await stat(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw e;
  }
  const input = createReadStream(path, { encoding: 'utf8' });
  let batch: T[] = [];
  for await (const line of createInterface({ input, crlfDelay: Infinity })) {
    if (!line) continue;
    try {
      batch.push(JSON.parse(line) as T);
    } catch {
      continue; // torn line
    }
    if (batch.length >= BATCH) {
      await write(batch);
      batch = [];
    }
  }
  if (batch.length) await write(batch);
  return true;
}

/**
 * Moves the journals of earlier versions (journal.jsonl: one line per job change, the last one wins;
 * answers.jsonl) into the store, then deletes them. Writing a line twice is harmless, so a start that
 * dies half way simply imports again.
 */
export async function importLegacyJournals(dir: string, write: { jobs(batch: JobRecord[]): Promise<unknown>; answers(batch: AnswerLine[]): Promise<unknown> }): Promise<void> {
  for (const [file, sink] of [['journal.jsonl', write.jobs], ['answers.jsonl', write.answers]] as const) {
    const path = join(dir, file);
    if (await streamLines(path, sink as (batch: unknown[]) => Promise<unknown>)) await rm(path, { force: true });
  }
}
