import { mkdirSync, openSync, closeSync, fsyncSync, readFileSync } from 'node:fs';
import { open, readFile, rename, rm, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';

import { blobName, checkBlobName } from './blob-name.js';
import type { JobRecord, JobStore } from './job-store.js';

const JOURNAL = 'journal.jsonl';

function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * A job store in one folder: an append-only journal of job records (one JSON line per change, the
 * last line of a job wins), fsync'ed before a write is reported done, and image blobs stored by
 * content hash (written to a temporary file, fsync'ed and renamed). Opening replays the journal, drops
 * a torn last line (a write that was never acknowledged) and compacts it to the live records.
 * Finished jobs are kept for `GET /jobs/:id` up to `keepFinished`, oldest dropped first.
 */
export class JournalStore implements JobStore {
  private readonly jobs = new Map<string, JobRecord>();
  private tail: Promise<unknown> = Promise.resolve();

  private constructor(private readonly dir: string, private handle: FileHandle, private readonly keepFinished: number) {}

  static async open(dir: string, opts: { keepFinished?: number } = {}): Promise<JournalStore> {
    mkdirSync(join(dir, 'blobs'), { recursive: true });
    const path = join(dir, JOURNAL);
    const jobs = new Map<string, JobRecord>();
    let text = '';
    try {
      text = readFileSync(path, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    for (const line of text.split('\n')) {
      if (!line) continue;
      try {
        const record = JSON.parse(line) as JobRecord;
        jobs.delete(record.id); // re-insert: map order follows the last change
        jobs.set(record.id, record);
      } catch {
        // A torn line: the process died while appending it, before the write was acknowledged.
      }
    }
    const store = new JournalStore(dir, await open(path, 'a'), opts.keepFinished ?? 10_000);
    for (const [id, r] of jobs) store.jobs.set(id, r);
    store.trimFinished();
    await store.compact();
    return store;
  }

  private append(record: JobRecord): Promise<void> {
    const line = `${JSON.stringify(record)}\n`;
    const write = this.tail.then(async () => {
      await this.handle.appendFile(line);
      await this.handle.datasync();
    });
    this.tail = write.catch(() => undefined);
    return write;
  }

  private trimFinished(): void {
    const finished = [...this.jobs.values()].filter((r) => r.state === 'delivered' || r.state === 'dead');
    for (const r of finished.slice(0, Math.max(0, finished.length - this.keepFinished))) this.jobs.delete(r.id);
  }

  /** Rewrites the journal with the live records only. */
  async compact(): Promise<void> {
    await this.tail;
    const path = join(this.dir, JOURNAL);
    const text = [...this.jobs.values()].map((r) => `${JSON.stringify(r)}\n`).join('');
    const tmp = `${path}.tmp`;
    const fh = await open(tmp, 'w');
    try {
      await fh.writeFile(text);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await this.handle.close();
    await rename(tmp, path);
    fsyncDir(this.dir);
    this.handle = await open(path, 'a');
  }

  async accept(record: JobRecord): Promise<boolean> {
    if (this.jobs.has(record.id)) return false;
    this.jobs.set(record.id, structuredClone(record));
    try {
      await this.append(record);
    } catch (e) {
      this.jobs.delete(record.id);
      throw e;
    }
    return true;
  }

  async update(record: JobRecord): Promise<void> {
    this.jobs.delete(record.id);
    this.jobs.set(record.id, structuredClone(record));
    await this.append(record);
    if (record.state === 'delivered' || record.state === 'dead') this.trimFinished();
  }

  async get(id: string): Promise<JobRecord | undefined> {
    const r = this.jobs.get(id);
    return r && structuredClone(r);
  }

  async unfinished(): Promise<JobRecord[]> {
    return [...this.jobs.values()].filter((r) => r.state === 'queued' || r.state === 'scored').sort((a, b) => a.acceptedAt - b.acceptedAt).map((r) => structuredClone(r));
  }

  async putBlob(jobId: string, candidate: number, bytes: Uint8Array): Promise<string> {
    const name = blobName(jobId, candidate, bytes);
    const path = join(this.dir, 'blobs', name);
    const tmp = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
    const fh = await open(tmp, 'w');
    try {
      await fh.writeFile(bytes);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
    fsyncDir(join(this.dir, 'blobs'));
    return name;
  }

  readBlob(name: string): Promise<Buffer> {
    checkBlobName(name);
    return readFile(join(this.dir, 'blobs', name));
  }

  async dropBlobs(record: JobRecord): Promise<void> {
    for (const name of record.blobs) if (name) await rm(join(this.dir, 'blobs', name), { force: true });
  }

  async close(): Promise<void> {
    await this.tail;
    await this.handle.close();
  }
}

