import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import type { Scorer } from '@clip-agiqa/core';

import { ReplayGuard } from './auth/replay-guard.js';
import { signedHeaders } from './auth/standard-webhooks.js';
import { startCluster, type ClusterParts, type Role } from './cluster/wire.js';
import { resolveConfig } from './config/resolve.js';
import { ConfigError } from './errors.js';
import type { WebhookConfig } from './generated/webhook-config.js';
import { Slots } from './http/limit.js';
import { UploadAdmission } from './http/upload-admission.js';
import { send } from './http/respond.js';
import { Router } from './http/router.js';
import { listenOrExplain } from './http/listen.js';
import { createHttpServer } from './http/server.js';
import { DeliveryScheduler, type DeliveryOptions } from './jobs/delivery.js';
import { FairGate } from './jobs/fair-gate.js';
import { ImageSource } from './jobs/images.js';
import { MemoryBudget } from './jobs/memory-budget.js';
import { JobQueue } from './jobs/queue.js';
import { retryPolicy } from './jobs/retry-policy.js';
import { jobScorer } from './jobs/scoring.js';
import { VerdictEvents } from './jobs/verdict-events.js';
import { masked, maskTarget, stderrLog, type Log, type LogLine } from './log.js';
import { Metrics, statusClass } from './metrics.js';
import { parseAllowList } from './net/ip.js';
import { safeFetch, type Resolver } from './net/safe-fetch.js';
import { openApiDocument } from './openapi.js';
import { hookHandler } from './routes/hooks.js';
import { checkRoutePolicies } from './routes/job-rules.js';
import { jobStatusHandler } from './routes/jobs.js';
import { statusPages, type StatusPageOptions } from './routes/status.js';
import type { BullQueues } from './cluster/bull-queues.js';
import type { JobStore } from './store/job-store.js';

export type { LogLine };

export interface ServiceOptions {
  config: WebhookConfig;
  scorer: Scorer;
  store: JobStore;
  /** DNS resolution for image and callback URLs (the system's by default). */
  resolve?: Resolver;
  /** Structured logs, one object per line (JSON on stderr by default). */
  log?: Log;
  /** Serve read-only HTML status pages at GET /status and /status/<route> (default off). */
  statusPage?: StatusPageOptions;
  /** The shared queues, with the redis store: jobs go through them, and `role` says which part this process plays. */
  queues?: BullQueues | null;
  /** all (default): accept and score; api: accept and queue, sync requests wait for a worker; worker: fetch, score, deliver. */
  role?: Role;
}

export interface Service {
  readonly url: string;
  readonly server: Server;
  readonly metrics: Metrics;
  /** The routes served; more can be added before requests need them. */
  readonly router: Router;
  /**
   * Stops accepting, lets requests and jobs in progress finish for up to `graceMs` (limits.shutdown_grace_ms
   * by default), then closes the remaining connections and stops waiting; unfinished jobs stay stored
   * for the next start.
   */
  close(graceMs?: number): Promise<void>;
}

export async function startService(o: ServiceOptions): Promise<Service> {
  const config = resolveConfig(o.config);
  checkRoutePolicies(config.routes, o.scorer.model);
  const { limits, fetch: fetchCfg, callback } = config;
  const log = masked(o.log ?? stderrLog);
  // Aborts image downloads and deliveries still running when the shutdown grace period is over.
  const shutdown = new AbortController();
  const metrics = new Metrics({ processMetrics: true });
  const fetchOptions = { maxBytes: fetchCfg.max_bytes, timeoutMs: fetchCfg.timeout_ms, maxRedirects: fetchCfg.max_redirects, allow: parseAllowList(fetchCfg.allow), resolve: o.resolve, signal: shutdown.signal };
  const callbackAllow = parseAllowList(callback.allow);
  const secrets = new Map(config.routes.map((r) => [r.path, r.callback_secret ?? callback.secret]));
  const budget = new MemoryBudget(limits.memory_bytes);
  const images = new ImageSource(fetchOptions, budget, fetchCfg.max_pixels);
  const role = o.role ?? 'all';
  if (role !== 'all' && !o.queues) throw new ConfigError(`role ${role} needs the redis store (store.kind "redis")`);
  let cluster: ClusterParts | null = null;
  let local: { queue: JobQueue; deliveries: DeliveryScheduler } | null = null;
  const status = o.statusPage && statusPages(o.statusPage, config, o.scorer, (): [string, number][] => (cluster
    ? [['jobs queued (cluster)', cluster.counts.waiting], ['jobs scoring (cluster)', cluster.counts.active], ['deliveries pending (cluster)', cluster.counts.deliveries]]
    : [['jobs queued or scoring', local!.queue.depth()], ['deliveries pending', local!.deliveries.pending]]));
  // One scoring slot is kept for synchronous requests (when there are two or more): a sender waiting on its answer never queues behind another tenant's burst.
  const scoring = new FairGate({ capacity: limits.concurrency, reservedForSync: limits.concurrency > 1 ? 1 : 0, busyCode: 'SCORING_BUSY', what: 'the scoring slots' });
  const verdicts = new VerdictEvents();
  status?.listen(verdicts);
  const jobs = jobScorer(o.scorer, scoring, metrics, budget, verdicts);
  let closing = false;

  const delivery: DeliveryOptions = {
    store: o.store, callback, log, metrics,
    post: async (record, body) => {
      const secret = secrets.get(record.route);
      if (!secret) throw new ConfigError(`route ${record.route} has no callback secret any more`);
      return (await safeFetch(record.delivery.url, {
        maxBytes: 1 << 16, maxRedirects: 0, timeoutMs: callback.timeout_ms, allow: callbackAllow, resolve: o.resolve, signal: shutdown.signal, method: 'POST', body,
        headers: { 'content-type': 'application/json', ...signedHeaders(secret, record.delivery.webhookId, body) },
      })).status;
    },
  };
  if (o.queues) {
    cluster = startCluster({ role, store: config.store, queues: o.queues, delivery, concurrency: limits.concurrency, syncWaitMs: limits.memory_wait_ms,
      work: { store: o.store, images, scorer: jobs, log, metrics, stopping: shutdown.signal } });
  } else {
    const deliveries = new DeliveryScheduler(delivery);
    local = { deliveries, queue: new JobQueue({ store: o.store, concurrency: limits.concurrency, images, scorer: jobs, log, metrics, retry: retryPolicy(config.scoring), onScored: () => deliveries.schedule() }) };
    metrics.gauge('clip_agiqa_queue_depth', 'Asynchronous jobs waiting or being processed.', () => local!.queue.depth());
    metrics.gauge('clip_agiqa_pending_deliveries', 'Verdicts waiting for delivery (at the last scan).', () => deliveries.pending);
  }
  const readiness = async (): Promise<{ ready: boolean } & Record<string, unknown>> => {
    const store = cluster ? await cluster.ready() : true;
    return { ready: !closing && store, role, model: o.scorer.model.name, ...(cluster ? { redis: store } : {}) };
  };
  metrics.gauge('clip_agiqa_memory_reserved_bytes', 'Bytes reserved in the memory budget (downloads, decoded pixels, grid crops).', () => budget.inUse);
  metrics.gauge('clip_agiqa_waiting_for_download', 'Image downloads waiting for a download slot.', () => images.downloads.waitingCount);
  metrics.gauge('clip_agiqa_waiting_for_scoring', 'Jobs and requests waiting for a scoring slot.', () => scoring.waitingCount);
  metrics.gauge('clip_agiqa_memory_reserved_peak_bytes', 'The most bytes ever reserved at once in the memory budget.', () => budget.peak);

  const uploads = new UploadAdmission({ total: limits.uploads, perAddress: limits.uploads_per_address, totalBytes: limits.upload_bytes, perAddressBytes: limits.upload_bytes_per_address });
  metrics.gauge('clip_agiqa_unauthenticated_uploads', 'Hook bodies being read before their signature could be checked.', () => uploads.inProgress);
  metrics.gauge('clip_agiqa_unauthenticated_upload_bytes', 'Bytes those bodies buffer.', () => uploads.buffered);
  const hooks = {
    config, store: o.store, queue: cluster?.queue ?? local!.queue, scoreElsewhere: cluster?.scoreElsewhere, replay: new ReplayGuard(o.store, config.idempotency.retention_hours * 3600_000), images, scorer: jobs, metrics, log,
    inFlight: new Slots(limits.concurrency + limits.sync_waiting), uploads, isClosing: () => closing, model: o.scorer.model, callbackAllow, resolve: o.resolve,
  };
  const router = new Router()
    .add('GET', '/healthz', (_req, res) => send(res, 200, { ok: true }))
    .add('GET', '/readyz', async (_req, res) => { const r = await readiness(); send(res, r.ready ? 200 : 503, r); })
    .add('GET', '/metrics', async (_req, res) => send(res, 200, await metrics.render(), { 'content-type': metrics.contentType }))
    .add('GET', '/openapi.json', (_req, res) => send(res, 200, openApiDocument(config.routes)));
  if (role !== 'worker') {
    router.add('GET', '/jobs/:route/:id', jobStatusHandler(o.store, config.routes, (r) => secrets.get(r.path)));
    for (const route of config.routes) router.add('POST', `/hooks/${route.path}`, hookHandler(hooks, route));
  }
  if (status) router.add('GET', '/status', status.all).add('GET', '/status/:route', status.route);

  const server = createHttpServer(router, { headersMs: limits.headers_timeout_ms, requestMs: limits.headers_timeout_ms + limits.body_timeout_ms + 5000 }, {
    onResponse(_req, template, status) {
      metrics.requests.inc({ route: template ?? 'unmatched', status: statusClass(status) });
    },
    onError(req, err, cause, unexpected) {
      if (unexpected) log({ level: 'error', msg: 'request failed', error: (cause as Error)?.stack ?? String(cause) });
      if (err.status === 401) log({ level: 'warn', msg: 'request refused', code: err.code, path: maskTarget(req.url ?? '') });
      const hook = /^\/hooks\/([a-z0-9_-]+)(?:\?|$)/.exec(req.url ?? '');
      if (status && hook) status.recordError(hook[1]!, err.code, err.message);
    },
  });
  try {
    await listenOrExplain(server, config.port, config.host);
  } catch (e) {
    // Nothing was accepted yet: stop the workers already started, so that the process can exit with the error.
    await Promise.all([local?.queue.close(), local?.deliveries.close(), cluster?.close(0)]);
    throw e;
  }
  const { port } = server.address() as AddressInfo;

  if (local) {
    // Resume what the last run left: jobs to score, verdicts to deliver.
    const resumed = await local.queue.resume();
    log({ level: 'info', msg: 'listening', port, resumed_jobs: resumed, pending_deliveries: (await o.store.unfinished()).length - resumed });
    local.deliveries.schedule();
  } else {
    log({ level: 'info', msg: 'listening', port, role, store: 'redis' }); // the shared queue already holds what any replica left
  }

  return {
    url: `http://${config.host}:${port}`,
    server,
    metrics,
    router,
    async close(graceMs = limits.shutdown_grace_ms) {
      closing = true;
      const drained = Promise.all([
        new Promise<void>((resolve) => { server.close(() => resolve()); server.closeIdleConnections(); }),
        local?.queue.close(), local?.deliveries.close(), cluster?.close(graceMs),
      ]);
      let timer: NodeJS.Timeout | undefined;
      const graceOver = new Promise<'late'>((resolve) => { timer = setTimeout(() => resolve('late'), graceMs); });
      const outcome = await Promise.race([drained, graceOver]);
      clearTimeout(timer);
      if (outcome === 'late') {
        log({ level: 'warn', msg: `shutdown grace of ${graceMs} ms over: closing the remaining connections`, open_jobs: local?.queue.depth() ?? cluster?.counts.active });
        server.closeAllConnections();
        shutdown.abort();
      }
    },
  };
}
