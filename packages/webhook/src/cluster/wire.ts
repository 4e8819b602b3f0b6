import type { StoreConfig } from '../config/resolve.js';
import { ConfigError } from '../errors.js';
import type { WebhookJob } from '../generated/webhook-job.js';
import type { WebhookVerdict } from '../generated/webhook-verdict.js';
import type { DeliveryOptions } from '../jobs/delivery.js';
import type { AcceptQueue, JobWork } from '../jobs/process.js';
import type { BullQueues } from './bull-queues.js';
import { RedisStore } from '../store/redis-store.js';
import { scoreThroughQueue, SharedQueue } from './api.js';
import { startClusterWorker, type ClusterWorker } from './worker.js';

/** all: accept and score in one process; api: verify, validate and queue (sync requests wait for a worker); worker: fetch, score, deliver. */
export type Role = 'all' | 'api' | 'worker';

export interface ClusterParts {
  queue: AcceptQueue;
  /** The whole cluster's queues at the last poll (every 2 s). */
  counts: { waiting: number; active: number; deliveries: number };
  scoreElsewhere?: (job: WebhookJob, inline: (Buffer | null)[], route: string) => Promise<WebhookVerdict>;
  ready(): Promise<boolean>;
  close(graceMs: number): Promise<void>;
}

/** The shared-queue side of a replica: what its role needs, and gauges of the whole cluster's queues. */
export function startCluster(o: { role: Role; store: StoreConfig; queues: BullQueues; work: JobWork; delivery: DeliveryOptions | null; concurrency: number; syncWaitMs: number }): ClusterParts {
  const { store, metrics } = o.work;
  if (!(store instanceof RedisStore) || o.store.kind !== 'redis') throw new ConfigError('the shared queue needs the redis store');
  const worker: ClusterWorker | null = o.role === 'api' ? null
    : startClusterWorker({ work: { ...o.work, store }, queues: o.queues, delivery: o.delivery, concurrency: o.concurrency, syncWaitMs: o.syncWaitMs });

  const counts = { waiting: 0, active: 0, deliveries: 0 };
  const poll = async (): Promise<void> => {
    try {
      const c = await o.queues.counts();
      counts.waiting = (c.score.wait ?? 0) + (c.score.prioritized ?? 0) + (c.score.delayed ?? 0);
      counts.active = c.score.active ?? 0;
      counts.deliveries = (c.deliver.wait ?? 0) + (c.deliver.delayed ?? 0) + (c.deliver.active ?? 0);
    } catch {
      // Redis away: the gauges keep their last values and /readyz says so
    }
  };
  void poll();
  const timer = setInterval(() => void poll(), 2000);
  timer.unref();
  metrics.gauge('clip_agiqa_queue_depth', 'Jobs waiting in the shared queue (whole cluster, polled every 2 s).', () => counts.waiting);
  metrics.gauge('clip_agiqa_active_jobs', 'Jobs being fetched and scored by workers (whole cluster).', () => counts.active);
  metrics.gauge('clip_agiqa_pending_deliveries', 'Verdicts waiting for delivery or being delivered (whole cluster).', () => counts.deliveries);

  return {
    counts,
    queue: new SharedQueue(o.queues),
    ...(o.role === 'api' ? { scoreElsewhere: scoreThroughQueue(store, o.queues, o.store.sync_timeout_ms) } : {}),
    ready: () => store.ready(),
    async close(graceMs) {
      clearInterval(timer);
      await worker?.close(graceMs);
    },
  };
}
