import { join } from 'node:path';

import type { StoreConfig } from '../config/resolve.js';
import { stderrLog, type Log } from '../log.js';
import { BullQueues } from './bull-queues.js';
import type { JobStore } from './job-store.js';
import { DiskStore } from './disk-store.js';
import { RedisStore } from './redis-store.js';

export interface OpenedStore {
  store: JobStore;
  /** The shared queues, with the Redis store. */
  queues: BullQueues | null;
  close(): Promise<void>;
}

/** Opens the configured store: the disk store in data_dir, or Redis (data_dir then caches blobs) with its BullMQ queues. */
export async function openStore(config: StoreConfig, dataDir: string, delivery?: { max_attempts: number; initial_backoff_ms: number; max_backoff_ms: number } | null, log: Log = stderrLog): Promise<OpenedStore> {
  if (config.kind === 'journal') {
    const store = await DiskStore.open(dataDir, { retentionMs: config.retention_s * 1000, log });
    return { store, queues: null, close: () => store.close() };
  }
  const store = await RedisStore.open({ url: config.url, prefix: config.prefix, retentionMs: config.retention_s * 1000, cacheDir: join(dataDir, 'blob-cache') });
  const queues = new BullQueues({
    url: config.url, prefix: config.prefix, lockDurationMs: config.lock_ms, stalledIntervalMs: Math.max(500, Math.round(config.lock_ms / 2)),
    ...(delivery ? { delivery: { maxAttempts: delivery.max_attempts, initialBackoffMs: delivery.initial_backoff_ms, maxBackoffMs: delivery.max_backoff_ms } } : {}),
  });
  return { store, queues, close: async () => { await queues.close(); await store.close(); } };
}
