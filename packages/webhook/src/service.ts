import { randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

import { isClipAgiqaError, type Scorer, type ScoreOutcome } from '@clip-agiqa/core';
import { compileSchema, Semaphore, sniffFormat, SAFE_FORMATS, type SniffedFormat } from '@clip-agiqa/core/internal';

import { adapt } from './adapters.js';
import { ed25519Key, verifyFalWebhook } from './auth/fal.js';
import { signedHeaders, verifyStandardWebhook, type HeaderBag } from './auth/standard-webhooks.js';
import { FetchError, HttpError, VerificationError } from './errors.js';
import type { Route, WebhookConfig } from './generated/webhook-config.js';
import { webhookJobSchema, type WebhookJob } from './generated/webhook-job.js';
import type { WebhookVerdict } from './generated/webhook-verdict.js';
import { Metrics } from './metrics.js';
import { parseAllowList } from './net/ip.js';
import { safeFetch, type Resolver } from './net/safe-fetch.js';
import { openApiDocument } from './openapi.js';
import type { JobRecord, JobStore } from './store/job-store.js';
import { expandGrids, type CandidateImage, type FailedImage } from './grid.js';
import { makeVerdict } from './verdict.js';

const isImage = <T>(im: T | FailedImage): im is T => Buffer.isBuffer(im) || (typeof im === 'object' && im !== null && 'data' in im);

const validateJob = compileSchema<WebhookJob>(webhookJobSchema);

export type LogLine = Record<string, unknown> & { level: 'info' | 'warn' | 'error'; msg: string };

export interface ServiceOptions {
  config: WebhookConfig;
  scorer: Scorer;
  store: JobStore;
  /** DNS resolution for image and callback URLs (the system's by default). */
  resolve?: Resolver;
  /** Structured logs, one object per line (JSON on stderr by default). */
  log?: (line: LogLine) => void;
}

export interface Service {
  readonly url: string;
  readonly server: Server;
  readonly metrics: Metrics;
  /** Stops accepting, lets jobs being scored finish, and leaves the rest (already on disk) for the next start. */
  close(): Promise<void>;
}

const ACCEPTED_SCHEMES = ['standard-webhooks', 'fal', 'bearer', 'unsigned'] as const;

/** Keeps the ids of verified messages for twice the signature tolerance: a second delivery of one is a replay. */
class ReplayGuard {
  private readonly seen = new Map<string, number>();
  constructor(private readonly ttlMs = 10 * 60 * 1000) {}

  check(key: string, now = Date.now()): void {
    for (const [k, expiry] of this.seen) {
      if (expiry > now) break;
      this.seen.delete(k);
    }
    if (this.seen.has(key)) throw new HttpError(409, 'REPLAYED', `message ${key} was already received`);
    this.seen.set(key, now + this.ttlMs);
  }
}

function verify(route: Route, headers: HeaderBag, body: Buffer, falKeys: Map<string, ReturnType<typeof ed25519Key>[]>): string | null {
  switch (route.verifier) {
    case 'standard-webhooks':
      return verifyStandardWebhook(route.secrets ?? [], headers, body).id;
    case 'fal':
      return verifyFalWebhook(falKeys.get(route.path) ?? [], headers, body).id;
    case 'bearer': {
      const auth = typeof headers.authorization === 'string' ? headers.authorization : '';
      const token = Buffer.from(auth.replace(/^Bearer\s+/i, ''));
      const ok = (route.tokens ?? []).some((t) => { const b = Buffer.from(t); return b.length === token.length && timingSafeEqual(b, token); });
      if (!auth.match(/^Bearer\s+/i) || !ok) throw new VerificationError('missing or wrong bearer token', 'BAD_TOKEN');
      return null;
    }
    default:
      return null;
  }
}

function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > limit) {
      reject(new HttpError(413, 'PAYLOAD_TOO_LARGE', `the body is ${declared} bytes; the limit is ${limit}`));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        reject(new HttpError(413, 'PAYLOAD_TOO_LARGE', `the body exceeds the ${limit}-byte limit`));
        req.pause();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent) return;
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, { 'content-type': typeof body === 'string' ? 'text/plain; version=0.0.4' : 'application/json', ...headers });
  res.end(text);
}

/** The sniffed container when it is not one the scorer decodes, else null. */
function unsupportedFormat(bytes: Uint8Array): SniffedFormat | null {
  const format = sniffFormat(bytes);
  return (SAFE_FORMATS as readonly string[]).includes(format) ? null : format;
}

/** Inline base64 -> bytes that look like an image, or a 422 naming the candidate. */
function decodeInline(b64: string, id: string, maxBytes: number): Buffer {
  const bytes = Buffer.from(b64, 'base64');
  if (bytes.length === 0) throw new HttpError(422, 'NOT_AN_IMAGE', `candidate ${id}: empty or invalid base64`);
  if (bytes.length > maxBytes) throw new HttpError(413, 'IMAGE_TOO_LARGE', `candidate ${id}: ${bytes.length} bytes exceeds the ${maxBytes}-byte limit`);
  const format = unsupportedFormat(bytes);
  if (format) throw new HttpError(422, 'NOT_AN_IMAGE', `candidate ${id}: the bytes are not a supported image (${format})`);
  return bytes;
}

export async function startService(o: ServiceOptions): Promise<Service> {
  const c = o.config;
  const log = o.log ?? ((line: LogLine) => process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), ...line })}\n`));
  const limits = { body_bytes: 64 << 20, concurrency: 4, queue: 256, sync_waiting: 32, ...c.limits };
  const fetchCfg = { max_bytes: 32 << 20, timeout_ms: 15_000, max_redirects: 3, ...c.fetch };
  const callback = c.callback ? { max_attempts: 10, initial_backoff_ms: 1000, max_backoff_ms: 3_600_000, timeout_ms: 10_000, ...c.callback } : null;
  const allow = parseAllowList(fetchCfg.allow ?? []);
  for (const r of c.routes) {
    if (!ACCEPTED_SCHEMES.includes(r.verifier)) throw new RangeError(`route ${r.path}: unknown verifier ${r.verifier}`);
    if (r.verifier === 'unsigned' && !c.allow_unsigned) throw new RangeError(`route ${r.path} is unsigned: set allow_unsigned to accept unauthenticated requests`);
    if (r.verifier === 'standard-webhooks' && !r.secrets?.length) throw new RangeError(`route ${r.path}: standard-webhooks needs secrets`);
    if (r.verifier === 'fal' && !r.public_keys?.length) throw new RangeError(`route ${r.path}: fal needs public_keys`);
    if (r.verifier === 'bearer' && !r.tokens?.length) throw new RangeError(`route ${r.path}: bearer needs tokens`);
  }
  const routes = new Map(c.routes.map((r) => [r.path, r]));
  const falKeys = new Map(c.routes.filter((r) => r.verifier === 'fal').map((r) => [r.path, r.public_keys!.map(ed25519Key)]));
  const replay = new ReplayGuard();
  const metrics = new Metrics();
  const scoring = new Semaphore(limits.concurrency);
  const fetching = new Semaphore(16);
  const prefetches = new Map<string, Promise<void>>();
  const failures = new Map<string, number>();
  const queue: string[] = [];
  let active = 0;
  let hooksInFlight = 0;
  let closing = false;
  const delivering = new Set<string>();
  let deliveryTimer: NodeJS.Timeout | null = null;
  const running = new Set<Promise<unknown>>();
  const track = <T>(p: Promise<T>): Promise<T> => {
    running.add(p);
    void p.finally(() => running.delete(p)).catch(() => undefined);
    return p;
  };
  metrics.gauge('clip_agiqa_queue_depth', () => queue.length + active);
  metrics.gauge('clip_agiqa_pending_deliveries', () => o.store.unfinished().filter((r) => r.state === 'scored').length);
  const fetchOptions = { maxBytes: fetchCfg.max_bytes, timeoutMs: fetchCfg.timeout_ms, maxRedirects: fetchCfg.max_redirects, allow, resolve: o.resolve };

  async function fetchImage(url: string): Promise<Buffer> {
    const r = await safeFetch(url, fetchOptions);
    if (r.status < 200 || r.status >= 300) throw new FetchError('HTTP_STATUS', `${url}: HTTP ${r.status}`);
    const format = unsupportedFormat(r.body);
    if (format) throw new FetchError('NOT_AN_IMAGE', `${url}: the body is not a supported image (${format})`);
    return r.body;
  }

  async function score(job: WebhookJob, candidateImages: CandidateImage[]): Promise<WebhookVerdict> {
    const started = performance.now();
    const { ids, outcomes } = await scoring.run(async () => {
      const expanded = await expandGrids(job.candidates.map((cand, i) => cand.id ?? String(i)), candidateImages, job.candidates.map((cand) => cand.grid), o.scorer);
      const inputs = expanded.images.flatMap((im, i) => (isImage(im) ? [{ id: expanded.ids[i]!, image: im }] : []));
      const scored = inputs.length ? await o.scorer.score(inputs) : [];
      let k = 0;
      return { ids: expanded.ids, outcomes: expanded.images.map((im): ScoreOutcome | { error: FailedImage } => (isImage(im) ? scored[k++]! : { error: im })) };
    });
    metrics.observeScoring((performance.now() - started) / 1000);
    const verdict = makeVerdict(job, ids, outcomes, o.scorer.model);
    metrics.inc('clip_agiqa_verdicts_total', { type: verdict.type });
    return verdict;
  }

  // ---- asynchronous jobs: fetch, score, then deliver -------------------------------------------

  /** Downloads a job's URL images into blobs (platform links expire: this starts as soon as the job is accepted). */
  async function fetchCandidates(rec: JobRecord): Promise<void> {
    const missing = rec.job.candidates.flatMap((cand, i) => (!rec.blobs[i] && !rec.fetchErrors[i] && cand.url ? [i] : []));
    if (missing.length === 0) return;
    await Promise.all(missing.map((i) => fetching.run(async () => {
      try {
        rec.blobs[i] = await o.store.putBlob(rec.id, i, await fetchImage(rec.job.candidates[i]!.url!));
      } catch (e) {
        const err = e as FetchError;
        rec.fetchErrors[i] = { code: err.code ?? 'NETWORK', message: err.message };
        log({ level: 'warn', msg: err.code === 'BLOCKED_ADDRESS' ? 'refused image URL (SSRF guard)' : 'image fetch failed', job_id: rec.id, candidate: i, error: err.message });
        metrics.inc('clip_agiqa_fetch_failures_total', { code: err.code ?? 'NETWORK' });
      }
    })));
    await o.store.update({ ...rec, updatedAt: Date.now() });
  }

  function prefetch(rec: JobRecord): Promise<void> {
    let p = prefetches.get(rec.id);
    if (!p) {
      p = track(fetchCandidates(rec).catch((e: Error) => log({ level: 'error', msg: 'prefetch failed', job_id: rec.id, error: e.message })))
        .finally(() => prefetches.delete(rec.id));
      prefetches.set(rec.id, p);
    }
    return p;
  }

  async function processJob(id: string): Promise<void> {
    const rec = o.store.get(id);
    if (!rec || rec.state !== 'queued') return;
    await prefetch(rec);
    const current = o.store.get(id) ?? rec;
    const images: CandidateImage[] = [];
    for (const [i] of current.job.candidates.entries()) {
      const blob = current.blobs[i];
      images.push(blob ? await o.store.readBlob(blob) : current.fetchErrors[i] ?? { code: 'MISSING', message: 'no image' });
    }
    const verdict = await score(current.job, images);
    const next: JobRecord = { ...current, state: 'scored', verdict, updatedAt: Date.now(), delivery: { ...rec.delivery, nextAt: Date.now() } };
    await o.store.update(next);
    await o.store.dropBlobs(next);
    log({ level: 'info', msg: 'job scored', job_id: id, verdict: verdict.type });
    scheduleDeliveries();
  }

  /** A job whose processing failed (e.g. a disk error) is tried again with backoff, then left queued for the next start. */
  function retryLater(id: string, e: Error): void {
    const tries = (failures.get(id) ?? 0) + 1;
    failures.set(id, tries);
    if (tries > 5) {
      log({ level: 'error', msg: 'job failed 5 times; it stays queued for the next start', job_id: id, error: e.message });
      return;
    }
    log({ level: 'warn', msg: 'job failed; retrying', job_id: id, attempt: tries, error: e.message });
    const timer = setTimeout(() => { if (!closing) { queue.push(id); pump(); } }, 200 * 2 ** tries);
    timer.unref();
  }

  function pump(): void {
    while (!closing && active < limits.concurrency && queue.length) {
      const id = queue.shift()!;
      active++;
      void track(processJob(id)
        .catch((e: Error) => retryLater(id, e))
        .finally(() => { active--; pump(); }));
    }
  }

  function backoff(attempt: number): number {
    const base = Math.min(callback!.max_backoff_ms, callback!.initial_backoff_ms * 2 ** (attempt - 1));
    return Math.round(base * (0.5 + Math.random() * 0.5));
  }

  async function deliver(rec: JobRecord): Promise<void> {
    const event = { type: rec.verdict!.type, timestamp: new Date().toISOString(), data: rec.verdict };
    const body = JSON.stringify(event);
    let error: string | null = null;
    try {
      const r = await safeFetch(rec.delivery.url, {
        ...fetchOptions, maxRedirects: 0, timeoutMs: callback!.timeout_ms, method: 'POST', body,
        headers: { 'content-type': 'application/json', ...signedHeaders(callback!.secret, rec.delivery.webhookId, body) },
      });
      if (r.status < 200 || r.status >= 300) error = `HTTP ${r.status}`;
    } catch (e) {
      error = (e as Error).message;
    }
    const attempts = rec.delivery.attempts + 1;
    const current = o.store.get(rec.id) ?? rec;
    if (error === null) {
      await o.store.update({ ...current, state: 'delivered', updatedAt: Date.now(), delivery: { ...current.delivery, attempts, deliveredAt: Date.now() } });
      metrics.inc('clip_agiqa_deliveries_total', { outcome: 'delivered' });
      log({ level: 'info', msg: 'verdict delivered', job_id: rec.id, webhook_id: rec.delivery.webhookId, attempts });
      return;
    }
    const dead = attempts >= callback!.max_attempts;
    await o.store.update({ ...current, state: dead ? 'dead' : 'scored', updatedAt: Date.now(),
      delivery: { ...current.delivery, attempts, lastError: error, nextAt: Date.now() + backoff(attempts) } });
    metrics.inc('clip_agiqa_delivery_retries_total');
    log({ level: dead ? 'error' : 'warn', msg: dead ? 'delivery abandoned' : 'delivery failed; will retry', job_id: rec.id, attempts, error });
  }

  function scheduleDeliveries(): void {
    if (closing || !callback) return;
    if (deliveryTimer) clearTimeout(deliveryTimer);
    const now = Date.now();
    const due = o.store.unfinished().filter((r) => r.state === 'scored' && !delivering.has(r.id));
    for (const rec of due.filter((r) => r.delivery.nextAt <= now)) {
      delivering.add(rec.id);
      void track(deliver(rec)
        .catch((e: Error) => log({ level: 'error', msg: 'delivery bookkeeping failed', job_id: rec.id, error: e.message }))
        .finally(() => { delivering.delete(rec.id); scheduleDeliveries(); }));
    }
    const later = due.filter((r) => r.delivery.nextAt > now).map((r) => r.delivery.nextAt);
    if (later.length) deliveryTimer = setTimeout(scheduleDeliveries, Math.max(10, Math.min(...later) - now));
  }

  // ---- HTTP ---------------------------------------------------------------------------------

  async function accept(route: Route, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req, limits.body_bytes);
    const messageId = verify(route, req.headers, body, falKeys);
    let payload: unknown;
    try {
      payload = JSON.parse(body.toString('utf8'));
    } catch (e) {
      throw new HttpError(400, 'MALFORMED_JSON', `the body is not JSON: ${(e as Error).message}`);
    }
    const adapted = adapt(route, payload);
    if ('ignored' in adapted) {
      send(res, 200, { ignored: true, reason: adapted.ignored });
      return;
    }
    const checked = validateJob(adapted.job);
    if (!checked.ok) throw new HttpError(422, 'SCHEMA_VIOLATION', 'the job does not match webhook-job.schema.json', {}, checked.errors);
    const job = checked.value;
    if (messageId) replay.check(`${route.path}:${messageId}`);
    const inline = job.candidates.map((cand, i) => (cand.base64 !== undefined ? decodeInline(cand.base64, cand.id ?? String(i), fetchCfg.max_bytes) : null));

    if (!job.callback_url) {
      const images = await Promise.all(job.candidates.map(async (cand, i) => {
        if (inline[i]) return inline[i];
        try {
          return await fetchImage(cand.url!);
        } catch (e) {
          const err = e as FetchError;
          if (err.code === 'BLOCKED_ADDRESS') log({ level: 'warn', msg: 'refused image URL (SSRF guard)', job_id: job.job_id, candidate: i, error: err.message });
          return { code: err.code ?? 'NETWORK', message: err.message };
        }
      }));
      const verdict = await score(job, images);
      const undecodable = verdict.candidates.filter((cand) => cand.error && cand.error.code !== 'NETWORK');
      if (undecodable.length === verdict.candidates.length) {
        throw new HttpError(422, 'NO_USABLE_IMAGE', 'no candidate could be scored', {}, undecodable.map((cand) => ({ id: cand.id, ...cand.error })));
      }
      send(res, 200, verdict);
      return;
    }

    if (!callback) throw new HttpError(422, 'NO_CALLBACK_SECRET', 'asynchronous jobs need the service\'s callback secret configured');
    if (closing) throw new HttpError(503, 'SHUTTING_DOWN', 'the service is shutting down', { 'retry-after': '5' });
    if (queue.length + active >= limits.queue) {
      throw new HttpError(503, 'QUEUE_FULL', 'the job queue is full', { 'retry-after': '5' });
    }
    const blobs = await Promise.all(inline.map((bytes, i) => (bytes ? o.store.putBlob(job.job_id, i, bytes) : null)));
    const stored: WebhookJob = { ...job, candidates: job.candidates.map(({ base64: _dropped, ...rest }) => rest) as WebhookJob['candidates'] };
    const now = Date.now();
    const record: JobRecord = {
      id: job.job_id, route: route.path, state: 'queued', job: stored, blobs, fetchErrors: blobs.map(() => null), acceptedAt: now, updatedAt: now,
      delivery: { url: job.callback_url, webhookId: `msg_${randomUUID().replace(/-/g, '')}`, attempts: 0, nextAt: 0 },
    };
    if (!(await o.store.accept(record))) throw new HttpError(409, 'DUPLICATE_JOB', `job ${job.job_id} was already accepted`, {}, { status_url: `/jobs/${job.job_id}` });
    metrics.inc('clip_agiqa_jobs_accepted_total', { route: route.path });
    log({ level: 'info', msg: 'job accepted', job_id: job.job_id, route: route.path, candidates: job.candidates.length });
    send(res, 202, { job_id: job.job_id, state: 'queued', status_url: `/jobs/${encodeURIComponent(job.job_id)}` });
    void prefetch(record);
    queue.push(job.job_id);
    pump();
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://service');
    const path = url.pathname;
    metrics.inc('clip_agiqa_requests_total', { path: path.startsWith('/hooks/') ? '/hooks' : path.startsWith('/jobs/') ? '/jobs' : path });
    if (req.method === 'GET' && path === '/healthz') return send(res, 200, { ok: true });
    if (req.method === 'GET' && path === '/readyz') return closing ? send(res, 503, { ready: false }) : send(res, 200, { ready: true, model: o.scorer.model.name });
    if (req.method === 'GET' && path === '/metrics') return send(res, 200, metrics.render());
    if (req.method === 'GET' && path === '/openapi.json') return send(res, 200, openApiDocument(c.routes));
    if (req.method === 'GET' && path.startsWith('/jobs/')) {
      const rec = o.store.get(decodeURIComponent(path.slice('/jobs/'.length)));
      if (!rec) throw new HttpError(404, 'NOT_FOUND', 'no such job');
      return send(res, 200, { job_id: rec.id, state: rec.state, verdict: rec.verdict ?? null,
        delivery: { attempts: rec.delivery.attempts, webhook_id: rec.delivery.webhookId, last_error: rec.delivery.lastError ?? null, delivered_at: rec.delivery.deliveredAt ?? null } });
    }
    if (path.startsWith('/hooks/')) {
      const route = routes.get(path.slice('/hooks/'.length));
      if (!route) throw new HttpError(404, 'NOT_FOUND', 'no such route');
      if (req.method !== 'POST') throw new HttpError(405, 'METHOD_NOT_ALLOWED', 'hooks take POST', { allow: 'POST' });
      // Requests being read, verified or scored at once are bounded, and so is the memory their bodies hold.
      if (hooksInFlight >= limits.concurrency + limits.sync_waiting) {
        throw new HttpError(429, 'BUSY', 'too many requests in progress; retry later', { 'retry-after': '1' });
      }
      hooksInFlight++;
      try {
        return await accept(route, req, res);
      } finally {
        hooksInFlight--;
      }
    }
    throw new HttpError(404, 'NOT_FOUND', `no route ${req.method} ${path}`);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      const err = e instanceof HttpError ? e
        : isClipAgiqaError(e) ? new HttpError(422, e.code, e.message)
          : new HttpError(500, 'INTERNAL', 'internal error');
      if (!(e instanceof HttpError) && !isClipAgiqaError(e)) log({ level: 'error', msg: 'request failed', error: (e as Error).stack ?? String(e) });
      metrics.inc('clip_agiqa_responses_total', { status: String(err.status) });
      if (err.status === 401) log({ level: 'warn', msg: 'request refused', code: err.code, path: req.url });
      send(res, err.status, err.toJSON(), err.status === 413 ? { ...err.headers, connection: 'close' } : err.headers);
    });
  });
  server.requestTimeout = 120_000;
  server.headersTimeout = 30_000;
  await new Promise<void>((resolve) => server.listen(c.port ?? 8787, c.host ?? '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  // Resume what the last run left: jobs to score, verdicts to deliver.
  for (const rec of o.store.unfinished()) if (rec.state === 'queued') queue.push(rec.id);
  log({ level: 'info', msg: 'listening', port, resumed_jobs: queue.length, pending_deliveries: o.store.unfinished().length - queue.length });
  pump();
  scheduleDeliveries();

  return {
    url: `http://${c.host ?? '127.0.0.1'}:${port}`,
    server,
    metrics,
    async close() {
      closing = true;
      if (deliveryTimer) clearTimeout(deliveryTimer);
      await new Promise<void>((resolve) => { server.close(() => resolve()); server.closeIdleConnections(); });
      await Promise.allSettled([...running]);
    },
  };
}
