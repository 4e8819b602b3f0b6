import { Queue, QueueEvents, WaitingError, Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';

import type { WebhookJob } from '../generated/webhook-job.js';
import type { WebhookVerdict } from '../generated/webhook-verdict.js';
import { retryBackoff, type RetryPolicy } from '../jobs/retry-policy.js';

/** An accepted asynchronous job to fetch and score (its record is in the store). */
export interface ScoreTask { kind: 'async'; id: string }
/** A synchronous request: the API replica that took it waits for the verdict this job returns. */
export interface SyncTask { kind: 'sync'; id: string; route: string; job: WebhookJob; blobs: (string | null)[] }
export type ScoringTask = ScoreTask | SyncTask;

export interface BullQueuesOptions {
  url: string;
  prefix?: string;
  /** How long a worker's claim on a job lasts without renewal; a SIGKILLed worker's jobs return to the queue after it. */
  lockDurationMs?: number;
  /** How often workers look for jobs whose claim ran out. */
  stalledIntervalMs?: number;
  /** Times a job may be found stalled before it is failed (a job that kills every worker that takes it). */
  maxStalledCount?: number;
  /** Attempts and backoff of fetching and scoring an async job (default 5, 1 s to 1 min). */
  scoring?: RetryPolicy;
  /** Attempts and backoff of delivering a verdict (default 10, 1 s to 1 h). */
  delivery?: RetryPolicy;
}

export interface Processors {
  /** Fetches and scores; returns the verdict of a sync task. Rejects once `signal` fires (the job is then handed back). */
  score(task: ScoringTask, signal: AbortSignal): Promise<WebhookVerdict | null>;
  /** One delivery attempt; rejects to have it retried with backoff. `last`: no attempt follows this one. */
  deliver(id: string, attempt: number, last: boolean): Promise<void>;
}

export interface WorkerEvents {
  stalled(queue: string, jobId: string): void;
  error(e: Error): void;
}

const SYNC_PRIORITY = 1;
const ASYNC_PRIORITY = 5;

const backoffOf = (p: RetryPolicy) => (attemptsMade: number): number => retryBackoff(attemptsMade, p.initialBackoffMs, p.maxBackoffMs);

/** BullMQ's custom ids may be neither integers nor contain ':'. */
export const bullJobId = (kind: string, id: string): string => `${kind}_${encodeURIComponent(id)}`;

/**
 * The two BullMQ queues of the service, in the store's Redis: `score` (fetch and score, sync requests
 * first) and `deliver` (signed callbacks, retried with capped exponential backoff). BullMQ brings the
 * guarantees: a job is claimed under a lock its worker renews, a worker that dies lets the lock lapse
 * and another worker takes the job again (stalled-job recovery), a failed attempt is retried after a
 * backoff, and adding a job whose id exists is a no-op.
 */
export class BullQueues {
  readonly score: Queue<ScoringTask, WebhookVerdict | null>;
  readonly deliver: Queue<{ id: string }>;
  private readonly connection: Redis;
  private events: QueueEvents | null = null;
  private readonly workers: Worker[] = [];
  /** Connections made for the workers: BullMQ leaves connections it was given open. */
  private readonly workerConnections: Redis[] = [];
  readonly prefix: string;

  constructor(private readonly opts: BullQueuesOptions) {
    this.prefix = opts.prefix ?? 'clip-agiqa';
    // BullMQ retries commands itself while Redis is away; a queue used by HTTP handlers should still fail fast.
    this.connection = new Redis(opts.url, { maxRetriesPerRequest: 1, enableOfflineQueue: false });
    this.connection.on('error', () => undefined);
    this.score = new Queue('score', { connection: this.connection, prefix: this.prefix });
    this.deliver = new Queue('deliver', { connection: this.connection, prefix: this.prefix });
    this.score.on('error', () => undefined);
    this.deliver.on('error', () => undefined);
  }

  private get delivery(): RetryPolicy {
    return this.opts.delivery ?? { maxAttempts: 10, initialBackoffMs: 1000, maxBackoffMs: 3_600_000 };
  }

  /** The scoring retry policy: BullMQ's attempts and backoff, and the count kept in each job's record. */
  get scoring(): RetryPolicy {
    return this.opts.scoring ?? { maxAttempts: 5, initialBackoffMs: 1000, maxBackoffMs: 60_000 };
  }

  async enqueueScore(id: string): Promise<void> {
    await this.score.add('score', { kind: 'async', id }, {
      jobId: bullJobId('score', id), priority: ASYNC_PRIORITY, attempts: this.scoring.maxAttempts,
      backoff: { type: 'policy' }, removeOnComplete: { age: 3600, count: 10_000 }, removeOnFail: { age: 7 * 86_400 },
    });
  }

  async enqueueDelivery(id: string): Promise<void> {
    await this.deliver.add('deliver', { id }, {
      jobId: bullJobId('deliver', id), attempts: this.delivery.maxAttempts, backoff: { type: 'policy' },
      removeOnComplete: { age: 3600, count: 10_000 }, removeOnFail: { age: 7 * 86_400 },
    });
  }

  /** Queues a sync request ahead of async jobs and waits for a worker's verdict. */
  async runSync(task: SyncTask, timeoutMs: number): Promise<WebhookVerdict> {
    if (!this.events) {
      this.events = new QueueEvents('score', { connection: { ...this.connection.options, maxRetriesPerRequest: null }, prefix: this.prefix });
      this.events.on('error', () => undefined);
      await this.events.waitUntilReady();
    }
    const job = await this.score.add('sync', task, {
      jobId: bullJobId('sync', task.id), priority: SYNC_PRIORITY, attempts: 3, backoff: { type: 'exponential', delay: 100 },
      removeOnComplete: { age: 60 }, removeOnFail: { age: 60 },
    });
    try {
      return (await job.waitUntilFinished(this.events, timeoutMs)) as WebhookVerdict;
    } catch (e) {
      await job.remove().catch(() => undefined); // not taken yet: nobody will score it now
      throw e;
    }
  }

  /** Jobs waiting or being scored, over the whole cluster. */
  async depth(): Promise<number> {
    const c = await this.score.getJobCounts('wait', 'prioritized', 'delayed', 'active');
    return Object.values(c).reduce((a, b) => a + b, 0);
  }

  async counts(): Promise<{ score: Record<string, number>; deliver: Record<string, number> }> {
    const states = ['wait', 'prioritized', 'delayed', 'active', 'failed'] as const;
    return { score: await this.score.getJobCounts(...states), deliver: await this.deliver.getJobCounts(...states) };
  }

  /**
   * Where an async job's score or deliver job stands: pending (waiting, delayed or being worked on),
   * failed (BullMQ gave up on it: its attempts or stalls are spent), or gone (finished or never queued).
   */
  async entry(kind: 'score' | 'deliver', id: string): Promise<{ state: 'pending' | 'gone' } | { state: 'failed'; reason: string; attempts: number }> {
    const job = await (kind === 'score' ? this.score : this.deliver).getJob(bullJobId(kind, id));
    if (!job) return { state: 'gone' };
    const state = await job.getState();
    if (state === 'failed') return { state, reason: job.failedReason || 'failed in the queue', attempts: job.attemptsMade };
    return { state: ['waiting', 'prioritized', 'delayed', 'active', 'waiting-children'].includes(state) ? 'pending' : 'gone' };
  }

  /** Queues an async job's score or deliver job again, replacing a finished or failed entry with its id. */
  async requeue(kind: 'score' | 'deliver', id: string): Promise<void> {
    await (await (kind === 'score' ? this.score : this.deliver).getJob(bullJobId(kind, id)))?.remove();
    await (kind === 'score' ? this.enqueueScore(id) : this.enqueueDelivery(id));
  }

  /** Starts a worker on each queue. */
  startWorkers(processors: Processors, o: { concurrency: number; deliveryConcurrency?: number }, events: WorkerEvents): void {
    const common = {
      prefix: this.prefix,
      lockDuration: this.opts.lockDurationMs ?? 30_000,
      stalledInterval: this.opts.stalledIntervalMs ?? 30_000,
      maxStalledCount: this.opts.maxStalledCount ?? 5,
    };
    const connection = (): Redis => {
      const r = new Redis(this.opts.url, { maxRetriesPerRequest: null });
      r.on('error', () => undefined);
      this.workerConnections.push(r);
      return r;
    };
    const scoring = new Worker<ScoringTask, WebhookVerdict | null>('score', async (job, token, signal) => {
      const aborted = signal ?? new AbortController().signal;
      try {
        return await processors.score(job.data, aborted);
      } catch (e) {
        if (!aborted.aborted || !token) throw e;
        await job.moveToWait(token); // cancelled by a shutdown: another worker takes it now, not after the lock lapses
        throw new WaitingError();
      }
    }, { ...common, connection: connection(), concurrency: o.concurrency, settings: { backoffStrategy: backoffOf(this.scoring) } });
    const { maxAttempts } = this.delivery;
    const delivering = new Worker<{ id: string }>('deliver', async (job: Job<{ id: string }>) => {
      const attempt = job.attemptsMade + 1;
      await processors.deliver(job.data.id, attempt, attempt >= (job.opts.attempts ?? maxAttempts));
    }, { ...common, connection: connection(), concurrency: o.deliveryConcurrency ?? 16,
      settings: { backoffStrategy: backoffOf(this.delivery) } });
    for (const w of [scoring, delivering]) {
      w.on('stalled', (jobId: string) => events.stalled(w.name, jobId));
      w.on('error', (e: Error) => events.error(e));
      this.workers.push(w);
    }
  }

  /**
   * Stops the workers: no new job is taken; jobs being worked on get `graceMs` to finish, then are
   * cancelled and handed back to the queue for another worker.
   */
  async stopWorkers(graceMs: number): Promise<void> {
    const closing = this.workers.map((w) => w.close());
    const timer = setTimeout(() => this.workers.forEach((w) => w.cancelAllJobs('shutting down')), graceMs);
    await Promise.all(closing);
    clearTimeout(timer);
    this.workers.length = 0;
    for (const r of this.workerConnections.splice(0)) r.disconnect();
  }

  async close(): Promise<void> {
    await this.stopWorkers(0);
    await this.events?.close();
    await this.score.close();
    await this.deliver.close();
    this.connection.disconnect();
  }
}
