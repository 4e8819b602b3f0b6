import { mkdirSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';

import { writeAtomically } from '@clip-agiqa/core/internal';

import { AppendLog, readLines } from './append-log.js';
import { blobName, checkBlobName } from './blob-name.js';
import type { Claim, JobRecord, JobStore, StoredAnswer } from './job-store.js';

type AnswerLine = StoredAnswer & { key: string };

/**
 * A job store in one folder: an append-only journal of job records (one JSON line per change, the
 * last line of a job wins) and one of answers to accepted messages, each fsync'ed before a write is
 * reported done, and image blobs (written to a temporary file, fsync'ed and renamed). Opening replays
 * the journals, drops a torn last line (a write that was never acknowledged) and compacts them to the
 * live records. Finished jobs are kept for `GET /jobs/:id` up to `keepFinished`, oldest dropped first;
 * answers until they expire.
 */
export class JournalStore implements JobStore {
  private readonly jobs = new Map<string, JobRecord>();
  private readonly answers = new Map<string, AnswerLine>();
  private readonly claims = new Set<string>();
  private answersSinceCompaction = 0;

  private constructor(
    private readonly dir: string, private readonly journal: AppendLog<JobRecord>, private readonly answerLog: AppendLog<AnswerLine>,
    private readonly keepFinished: number,
  ) {}

  static async open(dir: string, opts: { keepFinished?: number } = {}): Promise<JournalStore> {
    // Jobs carry callback URLs and images: readable by the service's user only.
    mkdirSync(join(dir, 'blobs'), { recursive: true, mode: 0o700 });
    const jobs = new Map<string, JobRecord>();
    for (const record of readLines<JobRecord>(join(dir, 'journal.jsonl'))) {
      jobs.delete(record.id); // re-insert: map order follows the last change
      jobs.set(record.id, record);
    }
    const now = Date.now();
    const answers = new Map(readLines<AnswerLine>(join(dir, 'answers.jsonl')).filter((a) => a.expiresAt > now).map((a) => [a.key, a]));
    const keepFinished = opts.keepFinished ?? 10_000;
    trimFinished(jobs, keepFinished);
    const store = new JournalStore(dir, await AppendLog.create(join(dir, 'journal.jsonl'), jobs.values()),
      await AppendLog.create(join(dir, 'answers.jsonl'), answers.values()), keepFinished);
    for (const [id, r] of jobs) store.jobs.set(id, r);
    for (const [key, a] of answers) store.answers.set(key, a);
    return store;
  }

  /** Rewrites the journals with the live records only. */
  async compact(): Promise<void> {
    await this.journal.rewrite(this.jobs.values());
    await this.answerLog.rewrite(this.answers.values());
  }

  async accept(record: JobRecord): Promise<boolean> {
    if (this.jobs.has(record.id)) return false;
    this.jobs.set(record.id, structuredClone(record));
    try {
      await this.journal.append(record);
    } catch (e) {
      this.jobs.delete(record.id);
      throw e;
    }
    return true;
  }

  async update(record: JobRecord): Promise<void> {
    this.jobs.delete(record.id);
    this.jobs.set(record.id, structuredClone(record));
    await this.journal.append(record);
    if (record.state === 'delivered' || record.state === 'dead') trimFinished(this.jobs, this.keepFinished);
  }

  async get(id: string): Promise<JobRecord | undefined> {
    const r = this.jobs.get(id);
    return r && structuredClone(r);
  }

  async unfinished(): Promise<JobRecord[]> {
    return [...this.jobs.values()].filter((r) => r.state === 'queued' || r.state === 'scored').sort((a, b) => a.acceptedAt - b.acceptedAt).map((r) => structuredClone(r));
  }

  async claimMessage(key: string, now = Date.now()): Promise<Claim> {
    const answer = this.answers.get(key);
    if (answer && answer.expiresAt > now) return { state: 'answered', answer: { status: answer.status, body: structuredClone(answer.body), expiresAt: answer.expiresAt } };
    if (answer) this.answers.delete(key);
    if (this.claims.has(key)) return { state: 'busy' };
    this.claims.add(key);
    return { state: 'claimed' };
  }

  async settleMessage(key: string, answer: StoredAnswer | null): Promise<void> {
    try {
      if (answer) {
        const line = { key, ...structuredClone(answer) };
        await this.answerLog.append(line);
        this.answers.set(key, line);
        if (++this.answersSinceCompaction >= 10_000) await this.dropExpiredAnswers();
      }
    } finally {
      this.claims.delete(key);
    }
  }

  /** Forgets expired answers and rewrites their journal, so it stays the size of the retention window. */
  private async dropExpiredAnswers(now = Date.now()): Promise<void> {
    this.answersSinceCompaction = 0;
    for (const [key, a] of this.answers) if (a.expiresAt <= now) this.answers.delete(key);
    await this.answerLog.rewrite(this.answers.values());
  }

  async putBlob(jobId: string, candidate: number, bytes: Uint8Array): Promise<string> {
    const name = blobName(jobId, candidate, bytes);
    await writeAtomically(join(this.dir, 'blobs', name), bytes, { fsync: true, mode: 0o600, mkdir: false });
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
    await this.journal.close();
    await this.answerLog.close();
  }
}

function trimFinished(jobs: Map<string, JobRecord>, keep: number): void {
  const finished = [...jobs.values()].filter((r) => r.state === 'delivered' || r.state === 'dead');
  for (const r of finished.slice(0, Math.max(0, finished.length - keep))) jobs.delete(r.id);
}
