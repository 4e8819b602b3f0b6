import type { BullQueues } from '../cluster/bull-queues.js';
import type { JobRecord, JobStore } from '../store/job-store.js';

/**
 * Gives dead jobs (all, or those `select` picks) a new life: one that died scoring is queued again with
 * its attempts reset, one that died delivering is due for delivery again under the same webhook-id.
 * The running service takes them at its next check of the store (within 30 s); on Redis they go
 * straight into the shared queue. Returns the ids re-queued.
 */
export async function requeueDead(store: JobStore, queues: BullQueues | null, select: (r: JobRecord) => boolean = () => true): Promise<string[]> {
  const done: string[] = [];
  for (const rec of (await store.dead()).filter(select)) {
    const { deadCause: _ended, ...rest } = rec;
    const now = Date.now();
    const next: JobRecord = rec.verdict
      ? { ...rest, state: 'scored', updatedAt: now, delivery: { ...rec.delivery, attempts: 0, nextAt: now } }
      : { ...rest, state: 'queued', updatedAt: now, scoreAttempts: 0 };
    await store.update(next);
    await queues?.requeue(next.state === 'queued' ? 'score' : 'deliver', rec.id);
    done.push(rec.id);
  }
  return done;
}
