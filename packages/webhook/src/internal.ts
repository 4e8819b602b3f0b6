// The service's building blocks, for this repository's tests and tools: no stability promise.
export { decodeSecret } from './auth/standard-webhooks.js';
export { ed25519Key, falMessage, verifyFalWebhook } from './auth/fal.js';
export { JobQueue } from './jobs/queue.js';
export { DeliveryScheduler } from './jobs/delivery.js';
export { Metrics } from './metrics.js';
export { safeFetch } from './net/safe-fetch.js';
export type { SafeFetchOptions } from './net/safe-fetch.js';
export { blockedReason, parseAllowList, unmapIPv4 } from './net/ip.js';
export { BullQueues } from './cluster/bull-queues.js';
export type { Processors, ScoringTask } from './cluster/bull-queues.js';
export { listenOrExplain } from './http/listen.js';
