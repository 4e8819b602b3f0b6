import { closeSync, mkdirSync, openSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';

import { open, type Database, type RootDatabase } from 'lmdb';

import { writeAtomically } from '@clip-agiqa/core/internal';

import { StoreFullError } from '../errors.js';
import type { Log } from '../log.js';
import { blobName, checkBlobName } from './blob-name.js';
import { classifyWriteError } from './disk-full.js';
import type { Claim, JobRecord, JobStore, StoredAnswer } from './job-store.js';
import { importLegacyJournals } from './legacy-journal.js';

export interface DiskStoreOptions {
  /** How long a delivered or dead job stays readable (default 24 h). */
  retentionMs?: number;
  /** How often finished jobs and answers past their time are removed (default 1 min). */
  sweepIntervalMs?: number;
  /** Where a full disk is reported (once each time it fills up). */
  log?: Log;
}

type Index = Database<true, [number, string]>;
const isFinished = (r: JobRecord): boolean => r.state === 'delivered' || r.state === 'dead';
/** Unfinished jobs are ordered by acceptance, finished ones by when they finished (when they go). */
const indexKey = (r: JobRecord): [number, string] => [isFinished(r) ? r.updatedAt : r.acceptedAt, r.id];
/** Records removed per transaction by the sweep: short transactions keep writers waiting little. */
const SWEEP_BATCH = 1000;

/**
 * A job store in one folder on local disk: an LMDB database (store.lmdb) of job records, answers to
 * accepted messages and three ordered indexes (unfinished jobs by acceptance, finished jobs and answers
 * by the time they go), and image blobs as files. LMDB commits are copy-on-write transactions made
 * durable (fsync) before a write resolves, so a crash at any point leaves the last committed state and
 * there is nothing to replay or compact: opening costs the same at any history size, and `unfinished()`
 * reads only the unfinished index. Finished jobs and expired answers are swept in small transactions.
 */
export class DiskStore implements JobStore {
  private readonly claims = new Set<string>();
  private readonly retentionMs: number;
  private sweeper: NodeJS.Timeout | null = null;
  private sweeping: Promise<void> = Promise.resolve();
  private full = false;

  private constructor(
    private readonly dir: string, private readonly root: RootDatabase,
    private readonly jobs: Database<JobRecord, string>, private readonly pending: Index, private readonly finished: Index,
    private readonly answers: Database<StoredAnswer, string>, private readonly answerExpiry: Index,
    private readonly opts: DiskStoreOptions,
  ) {
    this.retentionMs = opts.retentionMs ?? 24 * 3600_000;
  }

  static async open(dir: string, opts: DiskStoreOptions = {}): Promise<DiskStore> {
    // Jobs carry callback URLs and images: readable by the service's user only.
    mkdirSync(join(dir, 'blobs'), { recursive: true, mode: 0o700 });
    // LMDB creates its files readable by all; created first, they keep this mode.
    for (const f of ['store.lmdb', 'store.lmdb-lock']) closeSync(openSync(join(dir, f), 'a', 0o600));
    // overlappingSync off: a write resolves only once its commit is on disk, not merely visible.
    // eventTurnBatching off: its batches leave a promise nobody awaits, which a failed commit rejects.
    const root = open({ path: join(dir, 'store.lmdb'), noSubdir: true, overlappingSync: false, eventTurnBatching: false, maxDbs: 8 });
    const index = (name: string): Index => root.openDB<true, [number, string]>({ name, encoding: 'json' });
    const store = new DiskStore(dir, root, root.openDB<JobRecord, string>({ name: 'jobs', encoding: 'json' }), index('unfinished'), index('finished'),
      root.openDB<StoredAnswer, string>({ name: 'answers', encoding: 'json' }), index('answer-expiry'), opts);
    await importLegacyJournals(dir, {
      jobs: (batch) => store.write(() => { for (const r of batch) store.putRecord(r); }),
      answers: (batch) => store.write(() => { for (const { key, ...a } of batch) store.putAnswer(key, a); }),
    });
    await store.sweep();
    const every = opts.sweepIntervalMs ?? 60_000;
    store.sweeper = setInterval(() => { store.sweeping = store.sweeping.then(() => store.sweep()).catch(() => undefined); }, every).unref();
    return store;
  }

  /** Runs `action` in one write transaction; a full disk becomes a StoreFullError (logged when it starts). */
  private async write<T>(action: () => T): Promise<T> {
    try {
      const out = await this.root.transaction(action);
      this.full = false;
      return out;
    } catch (e) {
      // A failed commit rejects with a generic error; the system's error is in its `commitError` promise.
      const inner = (e as { commitError?: Promise<unknown> }).commitError;
      const cause = inner ? await inner.then(() => e, (reason: unknown) => reason) : e;
      throw this.reportFull(await classifyWriteError(this.dir, cause));
    }
  }

  private reportFull(e: unknown): unknown {
    if (e instanceof StoreFullError && !this.full) {
      this.full = true;
      this.opts.log?.({ level: 'error', msg: 'disk full: new jobs are refused with 503 STORE_FULL until space is freed; accepted jobs are kept', path: this.dir, error: (e.cause as Error)?.message });
    }
    return e;
  }

  /** In a write transaction: stores the record and keeps both job indexes in step with its state. */
  private putRecord(record: JobRecord): void {
    const before = this.jobs.get(record.id);
    if (before) (isFinished(before) ? this.finished : this.pending).removeSync(indexKey(before));
    this.jobs.putSync(record.id, record);
    (isFinished(record) ? this.finished : this.pending).putSync(indexKey(record), true);
  }

  private putAnswer(key: string, answer: StoredAnswer): void {
    const before = this.answers.get(key);
    if (before) this.answerExpiry.removeSync([before.expiresAt, key]);
    this.answers.putSync(key, answer);
    this.answerExpiry.putSync([answer.expiresAt, key], true);
  }

  async accept(record: JobRecord): Promise<boolean> {
    return this.write(() => {
      if (this.jobs.doesExist(record.id)) return false;
      this.putRecord(record);
      return true;
    });
  }

  async update(record: JobRecord): Promise<void> {
    await this.write(() => this.putRecord(record));
  }

  async get(id: string): Promise<JobRecord | undefined> {
    return this.jobs.get(id);
  }

  async unfinished(): Promise<JobRecord[]> {
    const out: JobRecord[] = [];
    for (const [, id] of this.pending.getKeys()) {
      const r = this.jobs.get(id);
      if (r) out.push(r);
    }
    return out;
  }

  async dead(): Promise<JobRecord[]> {
    const out: JobRecord[] = [];
    for (const [, id] of this.finished.getKeys()) {
      const r = this.jobs.get(id);
      if (r?.state === 'dead') out.push(r);
    }
    return out;
  }

  async claimMessage(key: string, now = Date.now()): Promise<Claim> {
    const answer = this.answers.get(key);
    if (answer && answer.expiresAt > now) return { state: 'answered', answer };
    if (this.claims.has(key)) return { state: 'busy' };
    this.claims.add(key);
    return { state: 'claimed' };
  }

  async settleMessage(key: string, answer: StoredAnswer | null): Promise<void> {
    try {
      if (answer) await this.write(() => this.putAnswer(key, answer));
    } finally {
      this.claims.delete(key);
    }
  }

  /** Removes finished jobs past the retention and expired answers, a batch per transaction. */
  async sweep(now = Date.now()): Promise<void> {
    await this.sweepIndex(this.finished, now - this.retentionMs, ([at, id]) => {
      const r = this.jobs.get(id);
      if (r && isFinished(r) && indexKey(r)[0] === at) this.jobs.removeSync(id);
    });
    await this.sweepIndex(this.answerExpiry, now, ([at, key]) => {
      if (this.answers.get(key)?.expiresAt === at) this.answers.removeSync(key);
    });
  }

  /** Removes the entries of a time index before `until`, and with each what `drop` says (if it still has that time). */
  private async sweepIndex(index: Index, until: number, drop: (key: [number, string]) => void): Promise<void> {
    for (;;) {
      const keys = [...index.getKeys({ end: [until, '\uffff'], limit: SWEEP_BATCH })];
      if (keys.length === 0) return;
      await this.write(() => {
        for (const k of keys) {
          index.removeSync(k);
          drop(k);
        }
      });
    }
  }

  async putBlob(jobId: string, candidate: number, bytes: Uint8Array): Promise<string> {
    const name = blobName(jobId, candidate, bytes);
    try {
      await writeAtomically(join(this.dir, 'blobs', name), bytes, { fsync: true, mode: 0o600, mkdir: false });
    } catch (e) {
      throw this.reportFull(await classifyWriteError(this.dir, e));
    }
    return name;
  }

  async readBlob(name: string): Promise<Buffer> {
    checkBlobName(name);
    return readFile(join(this.dir, 'blobs', name));
  }

  async dropBlobs(record: JobRecord): Promise<void> {
    for (const name of record.blobs) if (name) await rm(join(this.dir, 'blobs', name), { force: true });
  }

  async close(): Promise<void> {
    if (this.sweeper) clearInterval(this.sweeper);
    await this.sweeping;
    await this.root.close();
  }
}
