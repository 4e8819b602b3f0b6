// What a service user needs: start a service (or a cluster role), configure it, choose a store,
// sign jobs and verify callbacks, and the errors and wire formats. Building blocks the service is made
// of stay in ./internal.js.
export { startService } from './service.js';
export type { Service, ServiceOptions } from './service.js';
export type { Log, LogLine } from './log.js';
export { loadConfig } from './config/load.js';
export { resolveConfig } from './config/resolve.js';
export type { ResolvedConfig, StoreConfig } from './config/resolve.js';
export { startCluster } from './cluster/wire.js';
export type { Role } from './cluster/wire.js';
export { openStore } from './open-store.js';
export type { OpenedStore } from './open-store.js';
export { MemoryStore } from './store/memory-store.js';
export { DiskStore, type DiskStoreOptions } from './store/disk-store.js';
export { RedisStore } from './store/redis-store.js';
export type { RedisStoreOptions } from './store/redis-store.js';
export type { DeadCause, Delivery, JobRecord, JobState, JobStore } from './store/job-store.js';
export { redisAddress, waitForRedis, type WaitForRedisOptions } from './store/redis-connect.js';
export { requeueDead } from './jobs/requeue.js';
export { signedHeaders, verifyStandardWebhook, DEFAULT_TOLERANCE_SECONDS } from './auth/standard-webhooks.js';
export { ConfigError, FetchError, HttpError, ListenError, RedisStartError, StoreError, StoreFullError, StoreUnavailableError, VerificationError, type RedisStartCode } from './errors.js';
export { webhookJobSchema } from './generated/webhook-job.js';
export type { WebhookJob } from './generated/webhook-job.js';
export { webhookVerdictSchema } from './generated/webhook-verdict.js';
export type { WebhookVerdict } from './generated/webhook-verdict.js';
export { webhookConfigSchema } from './generated/webhook-config.js';
export type { WebhookConfig } from './generated/webhook-config.js';
