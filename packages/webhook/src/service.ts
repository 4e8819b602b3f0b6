import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import { Semaphore, type Scorer } from '@clip-agiqa/core';

import { ReplayGuard } from './auth/replay-guard.js';
import { signedHeaders } from './auth/standard-webhooks.js';
import { startCluster, type ClusterParts, type Role } from './cluster/wire.js';
import { resolveConfig } from './config/resolve.js';
import type { WebhookConfig } from './generated/webhook-config.js';
import { Slots } from './http/limit.js';
import { send } from './http/respond.js';
import { Router } from './http/router.js';
import { createHttpServer } from './http/server.js';
import { DeliveryScheduler, type DeliveryOptions } from './jobs/delivery.js';
import { imageFetcher } from './jobs/images.js';
import { JobQueue } from './jobs/queue.js';
import { jobScorer } from './jobs/scoring.js';
import { stderrLog, type Log, type LogLine } from './log.js';
import { Metrics } from './metrics.js';
import { parseAllowList } from './net/ip.js';
import { safeFetch, type Resolver } from './net/safe-fetch.js';
import { openApiDocument } from './openapi.js';
import { hookHandler } from './routes/hooks.js';
import { jobStatusHandler } from './routes/jobs.js';
import type { BullQueues } from './store/bull-queues.js';
import type { JobStore } from './store/job-store.js';

export type { LogLine };

export interface ServiceOptions {
  config: WebhookConfig;
  /** Needed unless the role is api (which scores nothing itself). */
  scorer?: Scorer;
  store: JobStore;
  /** The shared queues, with the redis store: jobs go through them, and `role` says which part this process plays. */
  queues?: BullQueues | null;
  role?: Role;
  /** How long a closing worker lets jobs in progress finish before handing them back (default 10 s). */
  shutdownGraceMs?: number;
  /** DNS resolution for image and callback URLs (the system's by default). */
  resolve?: Resolver;
  /** Structured logs, one object per line (JSON on stderr by default). */
  log?: Log;
}

export interface Service {
  readonly url: string;
  readonly server: Server;
  readonly metrics: Metrics;
  /** The routes served; more can be added before requests need them. */
  readonly router: Router;
  /** Stops accepting, lets jobs being scored finish, and leaves the rest (already on disk) for the next start. */
  close(): Promise<void>;
}

export async function startService(o: ServiceOptions): Promise<Service> {
  const config = resolveConfig(o.config);
  const { limits, fetch: fetchCfg, callback } = config;
  const log = o.log ?? stderrLog;
  const metrics = new Metrics();
  const fetchOptions = { maxBytes: fetchCfg.max_bytes, timeoutMs: fetchCfg.timeout_ms, maxRedirects: fetchCfg.max_redirects, allow: parseAllowList(fetchCfg.allow), resolve: o.resolve };
  const fetchImage = imageFetcher(fetchOptions);
  const role = o.role ?? 'all';
  if (role !== 'all' && !o.queues) throw new RangeError(`role ${role} needs the redis store (store.kind "redis")`);
  if (role !== 'api' && !o.scorer) throw new RangeError(`role ${role} scores images: it needs a scorer`);
  const score = o.scorer ? jobScorer(o.scorer, limits.concurrency, metrics) : () => Promise.reject(new Error('this replica does not score'));
  let closing = false;

  const delivery: DeliveryOptions | null = callback && {
    store: o.store, callback, log, metrics,
    post: async (url, webhookId, body) => (await safeFetch(url, {
      ...fetchOptions, maxRedirects: 0, timeoutMs: callback.timeout_ms, method: 'POST', body,
      headers: { 'content-type': 'application/json', ...signedHeaders(callback.secret, webhookId, body) },
    })).status,
  };
  let cluster: ClusterParts | null = null;
  let local: { queue: JobQueue; deliveries: DeliveryScheduler | null } | null = null;
  if (o.queues) {
    cluster = startCluster({ role, store: config.store, queues: o.queues, delivery, concurrency: limits.concurrency,
      work: { store: o.store, fetchImage, score, fetching: new Semaphore(16), log, metrics } });
  } else {
    const deliveries = delivery && new DeliveryScheduler(delivery);
    local = { deliveries, queue: new JobQueue({ store: o.store, concurrency: limits.concurrency, fetchImage, score, log, metrics, onScored: () => deliveries?.schedule() }) };
    metrics.gauge('clip_agiqa_queue_depth', () => local!.queue.depth());
    metrics.gauge('clip_agiqa_pending_deliveries', () => deliveries?.pending ?? 0);
  }

  const hooks = {
    config, store: o.store, queue: cluster?.queue ?? local!.queue, scoreElsewhere: cluster?.scoreElsewhere, replay: new ReplayGuard(), fetchImage, score, metrics, log,
    inFlight: new Slots(limits.concurrency + limits.sync_waiting), isClosing: () => closing,
  };
  const readiness = async (): Promise<{ ready: boolean } & Record<string, unknown>> => {
    const store = cluster ? await cluster.ready() : true;
    return { ready: !closing && store, role, model: o.scorer?.model.name ?? null, ...(cluster ? { redis: store } : {}) };
  };
  const router = new Router()
    .add('GET', '/healthz', (_req, res) => send(res, 200, { ok: true }))
    .add('GET', '/readyz', async (_req, res) => { const r = await readiness(); send(res, r.ready ? 200 : 503, r); })
    .add('GET', '/metrics', (_req, res) => send(res, 200, metrics.render()))
    .add('GET', '/openapi.json', (_req, res) => send(res, 200, openApiDocument(config.routes)));
  if (role !== 'worker') {
    router.add('GET', '/jobs/:id', jobStatusHandler(o.store));
    for (const route of config.routes) router.add('POST', `/hooks/${route.path}`, hookHandler(hooks, route));
  }

  const server = createHttpServer(router, {
    onRequest(req) {
      const path = new URL(req.url ?? '/', 'http://service').pathname;
      metrics.inc('clip_agiqa_requests_total', { path: path.startsWith('/hooks/') ? '/hooks' : path.startsWith('/jobs/') ? '/jobs' : path });
    },
    onError(req, err, cause, unexpected) {
      if (unexpected) log({ level: 'error', msg: 'request failed', error: (cause as Error)?.stack ?? String(cause) });
      metrics.inc('clip_agiqa_responses_total', { status: String(err.status) });
      if (err.status === 401) log({ level: 'warn', msg: 'request refused', code: err.code, path: req.url });
    },
  });
  await new Promise<void>((resolve) => server.listen(config.port, config.host, resolve));
  const { port } = server.address() as AddressInfo;

  if (local) {
    // Resume what the last run left: jobs to score, verdicts to deliver.
    const resumed = await local.queue.resume();
    log({ level: 'info', msg: 'listening', port, resumed_jobs: resumed, pending_deliveries: (await o.store.unfinished()).length - resumed });
    local.deliveries?.schedule();
  } else {
    log({ level: 'info', msg: 'listening', port, role, store: 'redis' }); // the shared queue already holds what any replica left
  }

  return {
    url: `http://${config.host}:${port}`,
    server,
    metrics,
    router,
    async close() {
      closing = true;
      await new Promise<void>((resolve) => { server.close(() => resolve()); server.closeIdleConnections(); });
      await Promise.all([local?.queue.close(), local?.deliveries?.close(), cluster?.close(o.shutdownGraceMs ?? 10_000)]);
    },
  };
}
