import { join } from 'node:path';

import { BullQueues } from './cluster/bull-queues.js';
import type { ResolvedConfig } from './config/resolve.js';
import { retryPolicy } from './jobs/retry-policy.js';
import { stderrLog, type Log } from './log.js';
import { DiskStore } from './store/disk-store.js';
import type { JobStore } from './store/job-store.js';
import { RedisStore } from './store/redis-store.js';

export interface OpenedStore {
  store: JobStore;
  /** The shared queues, with the Redis store. */
  queues: BullQueues | null;
  close(): Promise<void>;
}

/** Opens the configured store: the disk store in data_dir, or Redis (data_dir then caches blobs) with its BullMQ queues. */
export async function openStore(config: Pick<ResolvedConfig, 'store' | 'dataDir' | 'callback' | 'scoring'>, log: Log = stderrLog): Promise<OpenedStore> {
  const { store: kind, dataDir } = config;
  if (kind.kind === 'journal') {
    const store = await DiskStore.open(dataDir, { retentionMs: kind.retention_s * 1000, log });
    return { store, queues: null, close: () => store.close() };
  }
  const store = await RedisStore.open({ url: kind.url, prefix: kind.prefix, retentionMs: kind.retention_s * 1000, cacheDir: join(dataDir, 'blob-cache') });
  const queues = new BullQueues({
    url: kind.url, prefix: kind.prefix, lockDurationMs: kind.lock_ms, stalledIntervalMs: Math.max(500, Math.round(kind.lock_ms / 2)),
    scoring: retryPolicy(config.scoring), delivery: retryPolicy(config.callback),
  });
  return { store, queues, close: async () => { await queues.close(); await store.close(); } };
}
