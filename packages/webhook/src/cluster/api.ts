import { randomUUID } from 'node:crypto';

import { HttpError, StoreUnavailableError } from '../errors.js';
import type { WebhookJob } from '../generated/webhook-job.js';
import type { WebhookVerdict } from '../generated/webhook-verdict.js';
import type { AcceptQueue } from '../jobs/process.js';
import type { JobRecord } from '../store/job-store.js';
import type { BullQueues } from './bull-queues.js';
import type { RedisStore } from '../store/redis-store.js';

const unavailable = (e: unknown): never => {
  throw e instanceof HttpError ? e : new StoreUnavailableError(e as Error);
};

/** The cluster's queue as the HTTP layer sees it: the depth is the whole cluster's, a job is queued before its 202. */
export class SharedQueue implements AcceptQueue {
  constructor(private readonly queues: BullQueues) {}

  depth(): Promise<number> {
    return this.queues.depth().catch(unavailable);
  }

  async enqueue(record: JobRecord): Promise<void> {
    await this.queues.enqueueScore(record.id).catch(unavailable);
  }
}

/**
 * Synchronous requests on an API replica without a scorer: inline images go to Redis (expiring), the
 * request goes to the front of the queue, and the replica waits for the verdict a worker returns.
 */
export function scoreThroughQueue(store: RedisStore, queues: BullQueues, timeoutMs: number): (job: WebhookJob, inline: (Buffer | null)[], route: string) => Promise<WebhookVerdict> {
  return async (job, inline, route) => {
    const id = randomUUID();
    const blobs = await Promise.all(inline.map((bytes, i) => (bytes ? store.putBlob(id, i, bytes, timeoutMs + 60_000) : null)));
    const stored: WebhookJob = { ...job, candidates: job.candidates.map(({ base64: _dropped, ...rest }) => rest) as WebhookJob['candidates'] };
    try {
      return await queues.runSync({ kind: 'sync', id, route, job: stored, blobs }, timeoutMs);
    } catch (e) {
      const message = (e as Error).message;
      if (/timed out/i.test(message)) throw new HttpError(503, 'NO_VERDICT_IN_TIME', `no worker returned a verdict within ${timeoutMs} ms`, { 'retry-after': '5' });
      return unavailable(e);
    } finally {
      void store.dropBlobs({ blobs }).catch(() => undefined);
    }
  };
}
