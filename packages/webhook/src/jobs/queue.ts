import type { LogLine } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { JobRecord, JobStore } from '../store/job-store.js';
import type { ImageSource } from './images.js';
import { RouteCounts, takeFairly } from './fair-pick.js';
import { fetchCandidates, scoreStoredJob, type AcceptQueue } from './process.js';
import type { JobScorer } from './scoring.js';
import { scoreFailed, type RetryPolicy } from './retry-policy.js';
import { Tracker } from './tracker.js';

const DEFAULT_RETRY: RetryPolicy = { maxAttempts: 5, initialBackoffMs: 1000, maxBackoffMs: 60_000 };

export interface QueueOptions {
  store: JobStore;
  /** Jobs processed at once. */
  concurrency: number;
  /** Downloads (within the memory budget) and header reads. */
  images: Pick<ImageSource, 'download' | 'pixels'>;
  scorer: JobScorer;
  /** Called after a job's verdict is stored (to start its delivery). */
  onScored(record: JobRecord): void;
  log(line: LogLine): void;
  metrics: Metrics;
  /** Attempts and backoff of a failing job (default: 5 attempts, 1 s doubling to 1 min); then it is dead. */
  retry?: RetryPolicy;
  /** How often the store is checked for queued jobs this queue does not hold (re-queued by an operator); default 30 s. */
  rescanMs?: number;
}

/**
 * Accepted asynchronous jobs from the store to a stored verdict: downloads start at acceptance
 * (platform links expire), scoring takes a job at a time per slot (the oldest of the route with the
 * fewest in progress, so routes share the slots), and a job whose processing fails is tried again
 * with backoff until the retry policy's attempts are spent, then it is dead.
 */
export class JobQueue implements AcceptQueue {
  private readonly waiting: string[] = [];
  private active = 0;
  private readonly byRoute = new RouteCounts();
  private closing = false;
  /** Jobs waiting, being processed or waiting for a retry. */
  private readonly held = new Set<string>();
  private readonly rescan: NodeJS.Timeout;
  private readonly prefetches = new Map<string, Promise<void>>();
  private readonly work = new Tracker();

  constructor(private readonly o: QueueOptions) {
    this.rescan = setInterval(() => void this.resume().catch(() => undefined), o.rescanMs ?? 30_000);
    this.rescan.unref();
  }

  /** Jobs waiting or being processed. */
  depth(): number {
    return this.waiting.length + this.active;
  }

  /** Queues the queued jobs of the store this queue does not hold yet (left by the last run, or re-queued); returns how many. */
  async resume(): Promise<number> {
    const queued = (await this.o.store.unfinished()).filter((r) => r.state === 'queued' && !this.held.has(r.id));
    for (const rec of queued) this.hold(rec.id);
    this.pump();
    return queued.length;
  }

  private hold(id: string): void {
    this.held.add(id);
    this.waiting.push(id);
  }

  /** Takes a newly accepted job: its downloads start now, its scoring when a slot is free. */
  enqueue(record: JobRecord): void {
    void this.prefetch(record);
    this.hold(record.id);
    this.pump();
  }

  /** Stops taking jobs and waits for those in progress; the rest stay in the store for the next start. */
  async close(): Promise<void> {
    this.closing = true;
    clearInterval(this.rescan);
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

  private async retryLater(id: string, e: Error): Promise<void> {
    const failure = await scoreFailed(this.o, id, e, this.o.retry ?? DEFAULT_RETRY);
    if (failure.outcome !== 'retry') {
      this.held.delete(id);
      return;
    }
    const timer = setTimeout(() => { if (!this.closing) { this.waiting.push(id); this.pump(); } }, failure.delayMs);
    timer.unref();
  }

  private pump(): void {
    while (!this.closing && this.active < this.o.concurrency && this.waiting.length) {
      const id = takeFairly(this.waiting, this.byRoute)!;
      this.active++;
      this.byRoute.add(id, 1);
      void this.work.track(this.process(id)
        .then(() => { this.held.delete(id); }, (e: Error) => this.retryLater(id, e))
        .catch((e: Error) => {
          this.held.delete(id); // the next rescan takes it again
          this.o.log({ level: 'error', msg: 'job failure bookkeeping failed', job_id: id, error: e.message });
        })
        .finally(() => { this.active--; this.byRoute.add(id, -1); this.pump(); }));
    }
  }
}
