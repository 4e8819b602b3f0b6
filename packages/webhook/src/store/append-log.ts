import { readFileSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';

import { writeAtomically } from '@clip-agiqa/core/internal';

/** The JSON lines of a file; a torn last line (a write the process died in, never acknowledged) is skipped. */
export function readLines<T>(path: string): T[] {
  let text = '';
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  const out: T[] = [];
  for (const line of text.split('\n')) {
    if (!line) continue;
    try {
      out.push(JSON.parse(line) as T);
    } catch {
      // torn line
    }
  }
  return out;
}

/** Journals hold callback URLs and verdicts: readable by the service's user only, and on disk before an answer. */
const PRIVATE = { fsync: true, mode: 0o600 } as const;

/** An append-only file of JSON lines: each append is on disk (datasync) when its promise resolves. */
export class AppendLog<T> {
  private tail: Promise<unknown> = Promise.resolve();

  private constructor(private readonly path: string, private handle: FileHandle) {}

  /** Rewrites the file with `records` (atomically: temporary file, fsync, rename) and opens it for appending. */
  static async create<T>(path: string, records: Iterable<T>): Promise<AppendLog<T>> {
    await writeAtomically(path, [...records].map((r) => `${JSON.stringify(r)}\n`).join(''), PRIVATE);
    return new AppendLog<T>(path, await open(path, 'a', 0o600));
  }

  append(record: T): Promise<void> {
    const line = `${JSON.stringify(record)}\n`;
    const write = this.tail.then(async () => {
      await this.handle.appendFile(line);
      await this.handle.datasync();
    });
    this.tail = write.catch(() => undefined);
    return write;
  }

  /** Replaces the file's content with `records` once the appends in progress are done. */
  async rewrite(records: Iterable<T>): Promise<void> {
    await this.tail;
    const text = [...records].map((r) => `${JSON.stringify(r)}\n`).join('');
    await this.handle.close();
    await writeAtomically(this.path, text, PRIVATE);
    this.handle = await open(this.path, 'a', 0o600);
  }

  async close(): Promise<void> {
    await this.tail;
    await this.handle.close();
  }
}
