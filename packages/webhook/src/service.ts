import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import type { Scorer } from '@clip-agiqa/core';

import { ReplayGuard } from './auth/replay-guard.js';
import { signedHeaders } from './auth/standard-webhooks.js';
import { resolveConfig } from './config/resolve.js';
import type { WebhookConfig } from './generated/webhook-config.js';
import { Slots } from './http/limit.js';
import { send } from './http/respond.js';
import { Router } from './http/router.js';
import { createHttpServer } from './http/server.js';
import { DeliveryScheduler } from './jobs/delivery.js';
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
  const score = jobScorer(o.scorer, limits.concurrency, metrics);
  let closing = false;

  const deliveries = callback && new DeliveryScheduler({
    store: o.store, callback, log, metrics,
    post: async (url, webhookId, body) => (await safeFetch(url, {
      ...fetchOptions, maxRedirects: 0, timeoutMs: callback.timeout_ms, method: 'POST', body,
      headers: { 'content-type': 'application/json', ...signedHeaders(callback.secret, webhookId, body) },
    })).status,
  });
  const queue = new JobQueue({ store: o.store, concurrency: limits.concurrency, fetchImage, score, log, metrics, onScored: () => deliveries?.schedule() });
  metrics.gauge('clip_agiqa_queue_depth', () => queue.depth);
  metrics.gauge('clip_agiqa_pending_deliveries', () => deliveries?.pending ?? 0);

  const hooks = {
    config, store: o.store, queue, replay: new ReplayGuard(), fetchImage, score, metrics, log,
    inFlight: new Slots(limits.concurrency + limits.sync_waiting), isClosing: () => closing,
  };
  const router = new Router()
    .add('GET', '/healthz', (_req, res) => send(res, 200, { ok: true }))
    .add('GET', '/readyz', (_req, res) => (closing ? send(res, 503, { ready: false }) : send(res, 200, { ready: true, model: o.scorer.model.name })))
    .add('GET', '/metrics', (_req, res) => send(res, 200, metrics.render()))
    .add('GET', '/openapi.json', (_req, res) => send(res, 200, openApiDocument(config.routes)))
    .add('GET', '/jobs/:id', jobStatusHandler(o.store));
  for (const route of config.routes) router.add('POST', `/hooks/${route.path}`, hookHandler(hooks, route));

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

  // Resume what the last run left: jobs to score, verdicts to deliver.
  const resumed = await queue.resume();
  log({ level: 'info', msg: 'listening', port, resumed_jobs: resumed, pending_deliveries: (await o.store.unfinished()).length - resumed });
  deliveries?.schedule();

  return {
    url: `http://${config.host}:${port}`,
    server,
    metrics,
    router,
    async close() {
      closing = true;
      await new Promise<void>((resolve) => { server.close(() => resolve()); server.closeIdleConnections(); });
      await Promise.all([queue.close(), deliveries?.close()]);
    },
  };
}
