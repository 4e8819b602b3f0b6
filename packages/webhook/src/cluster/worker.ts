import type { WebhookVerdict } from '../generated/webhook-verdict.js';
import { deliverOnce, type DeliveryOptions } from '../jobs/delivery.js';
import { markDead, scoreFailed } from '../jobs/retry-policy.js';
import { fetchCandidates, scoreStoredJob, syncInputs, type JobWork } from '../jobs/process.js';
import type { BullQueues, ScoringTask, SyncTask } from './bull-queues.js';
import type { RedisStore } from '../store/redis-store.js';

export interface ClusterWorkerOptions {
  work: JobWork & { store: RedisStore };
  queues: BullQueues;
  /** Delivery settings; null when no callback secret is configured (async jobs are then refused upstream). */
  delivery: DeliveryOptions | null;
  /** Jobs scored at once by this worker. */
  concurrency: number;
  /** How long a sync request's downloads may wait for room in the memory budget. */
  syncWaitMs: number;
  /** How often unfinished jobs are checked for a missing queue entry (default 30 s; first check at start). */
  reconcileMs?: number;
}

export interface ClusterWorker {
  /** Takes no new job; jobs in progress get `graceMs` to finish, then go back to the queue for another worker. */
  close(graceMs?: number): Promise<void>;
}

/**
 * A worker of the shared queue: fetches images (through the address guard), scores, stores verdicts and
 * delivers signed callbacks, for jobs any API replica accepted. Every step reads the job's state from
 * the store first, so a job run twice (after a crash, a stall or a hand-back) never scores or delivers
 * under a second webhook-id: the worst case is a repeated delivery with the same id.
 */
export function startClusterWorker(o: ClusterWorkerOptions): ClusterWorker {
  const { work: w, queues } = o;

  /** One attempt at an async job; a failure is counted in its record by the shared retry policy, which may end it dead. */
  async function scoreAsync(id: string, signal: AbortSignal): Promise<void> {
    try {
      await scoreAsyncOnce(id, signal);
    } catch (e) {
      if (signal.aborted) throw e;
      if ((await scoreFailed(w, id, e as Error, queues.scoring)).outcome === 'retry') throw e; // BullMQ retries it after the policy's backoff
    }
  }

  async function scoreAsyncOnce(id: string, signal: AbortSignal): Promise<void> {
    const rec = await w.store.get(id);
    if (!rec) {
      w.log({ level: 'warn', msg: 'queued job has no record (expired?)', job_id: id });
      return;
    }
    if (rec.state === 'queued') {
      await fetchCandidates(w, rec);
      signal.throwIfAborted();
      await scoreStoredJob(w, id, signal);
    }
    // Also when a previous run stored the verdict but died before queueing its delivery.
    if (o.delivery && ((await w.store.get(id))?.state === 'scored')) await queues.enqueueDelivery(id);
  }

  async function scoreSync(task: SyncTask): Promise<WebhookVerdict> {
    const inline = await Promise.all(task.blobs.map((name) => (name ? w.store.readBlob(name) : null)));
    const verdict = await w.scorer.score(task.job, await syncInputs(w, task.job, inline, o.syncWaitMs, task.route), { waitMs: o.syncWaitMs, route: task.route, sync: true });
    await w.store.dropBlobs(task).catch(() => undefined); // they expire anyway
    return verdict;
  }

  async function deliver(id: string, last: boolean): Promise<void> {
    const rec = await w.store.get(id);
    if (!rec || rec.state !== 'scored' || !o.delivery) return; // delivered (a repeated run), dead, or expired
    const outcome = await deliverOnce(o.delivery, rec);
    if (outcome !== 'retry') return;
    if (last) {
      // BullMQ's last attempt (its count can run ahead of the record's after a lost acknowledgement).
      const current = (await w.store.get(id)) ?? rec;
      await markDead(w, current, { stage: 'deliver', error: current.delivery.lastError ?? 'failed', attempts: current.delivery.attempts });
      return;
    }
    throw new Error(`delivery of ${id} failed; retrying`);
  }

  queues.startWorkers({
    score: async (task: ScoringTask, signal) => (task.kind === 'sync' ? scoreSync(task) : (await scoreAsync(task.id, signal), null)),
    deliver: (id, _attempt, last) => deliver(id, last),
  }, { concurrency: o.concurrency }, {
    stalled: (queue, jobId) => {
      w.metrics.stalledRecoveries.inc({ queue });
      w.log({ level: 'warn', msg: 'job recovered from a worker that stopped renewing its lock', queue, job: jobId });
    },
    error: (e) => w.log({ level: 'error', msg: 'queue worker error', error: e.message }),
  });

  /**
   * Puts back in the queue any unfinished job that has no queue entry (its acceptance or hand-over died
   * half way). One that BullMQ failed (attempts or stalls spent) ended there: it is recorded dead, never re-queued.
   */
  async function reconcile(): Promise<void> {
    const settled = Date.now() - 5000; // younger jobs may still be between the store and the queue
    for (const rec of await w.store.unfinished(10_000)) {
      if (rec.updatedAt > settled) continue;
      const kind = rec.state === 'queued' ? 'score' : 'deliver';
      if (kind === 'deliver' && !o.delivery) continue;
      const entry = await queues.entry(kind, rec.id);
      if (entry.state === 'pending') continue;
      if (entry.state === 'failed') {
        await markDead(w, rec, { stage: kind, error: entry.reason, attempts: entry.attempts });
        continue;
      }
      w.log({ level: 'warn', msg: 'requeued an unfinished job missing from the queue', job_id: rec.id, queue: kind });
      w.metrics.requeued.inc({ queue: kind });
      await queues.requeue(kind, rec.id);
    }
  }
  const runReconcile = (): void => {
    reconciling = reconcile().catch((e: Error) => w.log({ level: 'warn', msg: 'reconcile failed', error: e.message }));
  };
  let reconciling: Promise<void> = Promise.resolve();
  runReconcile();
  const timer = setInterval(runReconcile, o.reconcileMs ?? 30_000);
  timer.unref();

  return {
    async close(graceMs = 10_000) {
      clearInterval(timer);
      await reconciling;
      await queues.stopWorkers(graceMs);
    },
  };
}
