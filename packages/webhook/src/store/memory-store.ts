import type { Claim, JobRecord, JobStore, StoredAnswer } from './job-store.js';

/**
 * A job store in memory: nothing survives the process. For tests of the queue and delivery, and for
 * a service that is allowed to forget accepted jobs on a restart.
 */
export class MemoryStore implements JobStore {
  private readonly jobs = new Map<string, JobRecord>();
  private readonly blobs = new Map<string, Buffer>();
  private nextBlob = 0;
  private readonly answers = new Map<string, StoredAnswer>();
  private readonly claims = new Set<string>();

  async accept(record: JobRecord): Promise<boolean> {
    if (this.jobs.has(record.id)) return false;
    this.jobs.set(record.id, structuredClone(record));
    return true;
  }

  async update(record: JobRecord): Promise<void> {
    this.jobs.delete(record.id);
    this.jobs.set(record.id, structuredClone(record));
  }

  async get(id: string): Promise<JobRecord | undefined> {
    const r = this.jobs.get(id);
    return r && structuredClone(r);
  }

  async unfinished(): Promise<JobRecord[]> {
    return [...this.jobs.values()].filter((r) => r.state === 'queued' || r.state === 'scored').sort((a, b) => a.acceptedAt - b.acceptedAt).map((r) => structuredClone(r));
  }

  async dead(): Promise<JobRecord[]> {
    return [...this.jobs.values()].filter((r) => r.state === 'dead').map((r) => structuredClone(r));
  }

  async putBlob(jobId: string, candidate: number, bytes: Uint8Array): Promise<string> {
    const name = `${jobId}/${candidate}/${this.nextBlob++}`;
    this.blobs.set(name, Buffer.from(bytes));
    return name;
  }

  async readBlob(name: string): Promise<Buffer> {
    const b = this.blobs.get(name);
    if (!b) throw Object.assign(new Error(`ENOENT: no blob ${name}`), { code: 'ENOENT' });
    return b;
  }

  async dropBlobs(record: JobRecord): Promise<void> {
    for (const name of record.blobs) if (name) this.blobs.delete(name);
  }

  async claimMessage(key: string, now = Date.now()): Promise<Claim> {
    const answer = this.answers.get(key);
    if (answer && answer.expiresAt > now) return { state: 'answered', answer: structuredClone(answer) };
    if (this.claims.has(key)) return { state: 'busy' };
    this.claims.add(key);
    return { state: 'claimed' };
  }

  async settleMessage(key: string, answer: StoredAnswer | null): Promise<void> {
    if (answer) this.answers.set(key, structuredClone(answer));
    this.claims.delete(key);
  }

  async close(): Promise<void> {}
}
