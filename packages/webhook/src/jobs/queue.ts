import type { LogLine } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { JobRecord, JobStore } from '../store/job-store.js';
import type { ImageSource } from './images.js';
import { RouteCounts, takeFairly } from './fair-pick.js';
import { fetchCandidates, scoreStoredJob, type AcceptQueue } from './process.js';
import type { ScoreJob } from './scoring.js';
import { Tracker } from './tracker.js';

export interface QueueOptions {
  store: JobStore;
  /** Jobs processed at once. */
  concurrency: number;
  /** Downloads (within the memory budget) and header reads. */
  images: Pick<ImageSource, 'download' | 'pixels'>;
  score: ScoreJob;
  /** Called after a job's verdict is stored (to start its delivery). */
  onScored(record: JobRecord): void;
  log(line: LogLine): void;
  metrics: Metrics;
  /** Attempts within one run before a failing job is left queued for the next start. */
  maxTries?: number;
  /** Backoff before the first retry; doubles with every attempt. */
  retryBaseMs?: number;
}

/**
 * Accepted asynchronous jobs from the store to a stored verdict: downloads start at acceptance
 * (platform links expire), scoring takes a job at a time per slot (the oldest of the route with the
 * fewest in progress, so routes share the slots), and a job whose processing fails
 * (e.g. a disk error) is tried again with backoff, then left queued for the next start.
 */
export class JobQueue implements AcceptQueue {
  private readonly waiting: string[] = [];
  private active = 0;
  private readonly byRoute = new RouteCounts();
  private closing = false;
  private readonly failures = new Map<string, number>();
  private readonly prefetches = new Map<string, Promise<void>>();
  private readonly work = new Tracker();

  constructor(private readonly o: QueueOptions) {}

  /** Jobs waiting or being processed. */
  depth(): number {
    return this.waiting.length + this.active;
  }

  /** Queues the jobs the last run left unscored; returns how many. */
  async resume(): Promise<number> {
    const queued = (await this.o.store.unfinished()).filter((r) => r.state === 'queued');
    for (const rec of queued) this.waiting.push(rec.id);
    this.pump();
    return queued.length;
  }

  /** Takes a newly accepted job: its downloads start now, its scoring when a slot is free. */
  enqueue(record: JobRecord): void {
    void this.prefetch(record);
    this.waiting.push(record.id);
    this.pump();
  }

  /** Stops taking jobs and waits for those in progress; the rest stay in the store for the next start. */
  async close(): Promise<void> {
    this.closing = true;
    await this.work.settled();
  }

  private prefetch(rec: JobRecord): Promise<void> {
    let p = this.prefetches.get(rec.id);
    if (!p) {
      p = this.work.track(fetchCandidates(this.o, rec).catch((e: Error) => this.o.log({ level: 'error', msg: 'prefetch failed', job_id: rec.id, error: e.message })))
        .finally(() => this.prefetches.delete(rec.id));
      this.prefetches.set(rec.id, p);
    }
    return p;
  }

  private async process(id: string): Promise<void> {
    const rec = await this.o.store.get(id);
    if (!rec || rec.state !== 'queued') return;
    await this.prefetch(rec);
    const next = await scoreStoredJob(this.o, id);
    if (next) this.o.onScored(next);
  }

  private retryLater(id: string, e: Error): void {
    const maxTries = this.o.maxTries ?? 5;
    const tries = (this.failures.get(id) ?? 0) + 1;
    this.failures.set(id, tries);
    if (tries > maxTries) {
      this.o.log({ level: 'error', msg: `job failed ${maxTries} times; it stays queued for the next start`, job_id: id, error: e.message });
      return;
    }
    this.o.log({ level: 'warn', msg: 'job failed; retrying', job_id: id, attempt: tries, error: e.message });
    const timer = setTimeout(() => { if (!this.closing) { this.waiting.push(id); this.pump(); } }, (this.o.retryBaseMs ?? 200) * 2 ** tries);
    timer.unref();
  }

  private pump(): void {
    while (!this.closing && this.active < this.o.concurrency && this.waiting.length) {
      const id = takeFairly(this.waiting, this.byRoute)!;
      this.active++;
      this.byRoute.add(id, 1);
      void this.work.track(this.process(id)
        .catch((e: Error) => this.retryLater(id, e))
        .finally(() => { this.active--; this.byRoute.add(id, -1); this.pump(); }));
    }
  }
}
