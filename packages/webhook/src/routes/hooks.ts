import { createHash, randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

import type { BlockList } from 'node:net';

import type { ModelInfo } from '@clip-agiqa/core';
import { compileSchema } from '@clip-agiqa/core/internal';

import { adapt } from '../adapters.js';
import type { Answer, ReplayGuard } from '../auth/replay-guard.js';
import { readToken } from '../auth/read-token.js';
import { verifierFor } from '../auth/verifier.js';
import type { ResolvedConfig } from '../config/resolve.js';
import { FetchError, HttpError } from '../errors.js';
import type { Route } from '../generated/webhook-config.js';
import { webhookJobSchema, type WebhookJob } from '../generated/webhook-job.js';
import type { WebhookVerdict } from '../generated/webhook-verdict.js';
import { declaredTooLarge, readBody, unsupportedMedia } from '../http/body.js';
import { send } from '../http/respond.js';
import type { Handler } from '../http/router.js';
import { decodeInline, type ImageSource } from '../jobs/images.js';
import { candidateId, sharedVerdictId } from '../jobs/candidate-ids.js';
import { measured, syncInputs, type AcceptQueue } from '../jobs/process.js';
import type { JobScorer } from '../jobs/scoring.js';
import type { Log } from '../log.js';
import type { Metrics } from '../metrics.js';
import { callbackUrlProblem } from '../net/callback-url.js';
import { checkedAddresses, type Resolver } from '../net/safe-fetch.js';
import type { JobRecord, JobStore } from '../store/job-store.js';
import { recordId } from './jobs.js';
import { metadataProblem, policyProblem } from './job-rules.js';
import { checkPayloadShape } from './payload-shape.js';
import type { Slots } from '../http/limit.js';
import type { UploadAdmission } from '../http/upload-admission.js';

const validateJob = compileSchema<WebhookJob>(webhookJobSchema);

export interface HookContext {
  config: ResolvedConfig;
  store: JobStore;
  queue: AcceptQueue;
  replay: ReplayGuard;
  images: ImageSource;
  scorer: JobScorer;
  /** Scores a synchronous request somewhere else (a worker, through the shared queue) instead of here. */
  scoreElsewhere?: (job: WebhookJob, inline: (Buffer | null)[], route: string) => Promise<WebhookVerdict>;
  metrics: Metrics;
  log: Log;
  /** Hook requests in progress, across routes. */
  inFlight: Slots;
  /** Hook bodies being read before their signature could be checked, across routes. */
  uploads: UploadAdmission;
  isClosing(): boolean;
  model: ModelInfo;
  callbackAllow: BlockList;
  /** DNS resolution for callback hosts (the system's by default). */
  resolve?: Resolver;
}

/** POST /hooks/<path>: verify, adapt and validate the payload, then answer with the verdict (sync) or accept the job (async). */
export function hookHandler(ctx: HookContext, route: Route): Handler {
  const verifier = verifierFor(route);
  const { limits, fetch: fetchCfg } = ctx.config;
  const bodyLimit = route.body_bytes ?? limits.body_bytes;
  return async (req, res) => {
    // Authentication before work: what the headers can prove is checked before a byte of the body is read.
    verifier.checkHeaders(req.headers);
    const refused = unsupportedMedia(req) ?? declaredTooLarge(req, bodyLimit);
    if (refused) throw refused;
    // A body whose signature is still unknown holds its client's share of the uploads, never a scoring slot.
    const upload = verifier.headersAuthenticate ? null : ctx.uploads.admit(req.socket.remoteAddress, bodyLimit);
    let body: Buffer;
    let messageId: string | null;
    try {
      body = await readBody(req, { limit: bodyLimit, timeoutMs: limits.body_timeout_ms, minBytesPerSecond: limits.upload_min_bytes_per_s, account: upload?.add, signal: upload?.signal });
      messageId = verifier.verify(req.headers, body);
    } finally {
      upload?.release();
    }
    // Requests being verified or scored at once are bounded, and so is the memory their bodies hold.
    if (!ctx.inFlight.tryAcquire()) throw new HttpError(429, 'BUSY', 'too many requests in progress; retry later', { 'retry-after': '1' });
    try {
      await handle(req, res, body, messageId);
    } finally {
      ctx.inFlight.release();
    }
  };

  async function handle(req: IncomingMessage, res: ServerResponse, body: Buffer, messageId: string | null): Promise<void> {
    const key = messageKey(route, messageId, req.headers['idempotency-key']);
    const answer = await ctx.replay.once(key, () => process(body));
    send(res, answer.status, answer.body, answer.replayed ? { 'idempotent-replayed': 'true' } : {});
  }

  async function process(body: Buffer): Promise<Answer> {
    let payload: unknown;
    try {
      payload = JSON.parse(body.toString('utf8'));
    } catch (e) {
      throw new HttpError(400, 'MALFORMED_JSON', `the body is not JSON: ${(e as Error).message}`);
    }
    checkPayloadShape(payload);
    const adapted = adapt(route, payload);
    if ('ignored' in adapted) return { status: 200, body: { ignored: true, reason: adapted.ignored } };
    const checked = validateJob(adapted.job);
    if (!checked.ok) throw new HttpError(422, 'SCHEMA_VIOLATION', 'the job does not match webhook-job.schema.json', {}, checked.errors);
    const job = checked.value;
    const shared = sharedVerdictId(job);
    if (shared !== null) throw new HttpError(422, 'DUPLICATE_CANDIDATE_ID', `two candidates would both be ${shared.slice(0, 100)} in the verdict; give each candidate its own id`);
    const tooLarge = metadataProblem(job.metadata, route.metadata_bytes ?? limits.metadata_bytes);
    if (tooLarge) throw new HttpError(422, 'METADATA_TOO_LARGE', tooLarge);
    const problem = policyProblem(job.policy, ctx.model);
    if (problem) throw new HttpError(422, problem.code, problem.message);
    if (job.callback_url !== undefined) await checkCallbackUrl(ctx, job.callback_url);
    const inline = job.candidates.map((cand, i) => (cand.base64 !== undefined ? decodeInline(cand.base64, candidateId(job, i), fetchCfg.max_bytes) : null));
    if (!job.callback_url) return answerNow(ctx, route, job, inline);
    return acceptJob(ctx, route, job, inline, createHash('sha256').update(body).digest('hex'));
  }
}

/** How long acceptance waits for a callback host to resolve; a slower answer is left to the deliveries, which check it again. */
const CALLBACK_LOOKUP_MS = 2000;

/**
 * A callback URL is refused at acceptance, not at delivery, when it is malformed or its host is or
 * resolves to a blocked address. A name that does not resolve now is accepted: deliveries retry.
 */
async function checkCallbackUrl(ctx: HookContext, url: string): Promise<void> {
  const problem = callbackUrlProblem(url, ctx.callbackAllow);
  if (problem) throw new HttpError(422, 'INVALID_CALLBACK_URL', `callback_url ${problem}`);
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      checkedAddresses(new URL(url).hostname, { allow: ctx.callbackAllow, resolve: ctx.resolve }),
      new Promise((resolve) => { timer = setTimeout(resolve, CALLBACK_LOOKUP_MS); }),
    ]);
  } catch (e) {
    if (e instanceof FetchError && e.code === 'BLOCKED_ADDRESS') throw new HttpError(422, 'INVALID_CALLBACK_URL', `callback_url ${e.message}; allow its range in callback.allow`);
  } finally {
    clearTimeout(timer);
  }
}

/** Synchronous mode: the verdict is the response (scored here, or by a worker when the context says so). */
async function answerNow(ctx: HookContext, route: Route, job: WebhookJob, inline: (Buffer | null)[]): Promise<Answer> {
  const waitMs = ctx.config.limits.memory_wait_ms;
  const verdict = ctx.scoreElsewhere ? await ctx.scoreElsewhere(job, inline, route.path)
    : await ctx.scorer.score(job, await syncInputs(ctx, job, inline, waitMs, route.path), { waitMs, route: route.path, sync: true });
  const failed = verdict.candidates.filter((cand) => cand.error);
  if (failed.length === verdict.candidates.length) {
    throw new HttpError(422, 'NO_USABLE_IMAGE', 'no candidate could be scored', {}, failed.map((cand) => ({ id: cand.id, ...cand.error })));
  }
  return { status: 200, body: verdict };
}

/** Asynchronous mode: the job is stored (durably) before the 202, then queued. */
async function acceptJob(ctx: HookContext, route: Route, job: WebhookJob, inline: (Buffer | null)[], requestHash: string): Promise<Answer> {
  const secret = route.callback_secret ?? ctx.config.callback.secret;
  if (!secret) throw new HttpError(422, 'NO_CALLBACK_SECRET', `asynchronous jobs need a callback secret: set callback_secret on route ${route.path} or callback.secret`);
  const id = recordId(route.path, job.job_id);
  if (ctx.isClosing()) throw new HttpError(503, 'SHUTTING_DOWN', 'the service is shutting down', { 'retry-after': '5' });
  if ((await ctx.queue.depth()) >= ctx.config.limits.queue) throw new HttpError(503, 'QUEUE_FULL', 'the job queue is full', { 'retry-after': '5' });
  const existing = await ctx.store.get(id);
  if (existing) {
    // The same request again (a sender's retry, with or without a message id): the original answer.
    if (existing.requestHash === requestHash) return acceptedAnswer(existing, secret);
    throw duplicate(job.job_id);
  }
  const pixels = await Promise.all(inline.map((bytes, i) => (bytes ? measured(ctx, bytes, `candidate ${job.candidates[i]!.id ?? i}`) : null)));
  const blobs = await Promise.all(inline.map((bytes, i) => (bytes && typeof pixels[i] === 'number' ? ctx.store.putBlob(id, i, bytes) : null)));
  const stored: WebhookJob = { ...job, candidates: job.candidates.map(({ base64: _dropped, ...rest }) => rest) as WebhookJob['candidates'] };
  const now = Date.now();
  const record: JobRecord = {
    id, route: route.path, state: 'queued', job: stored, blobs, acceptedAt: now, updatedAt: now,
    fetchErrors: pixels.map((p) => (p !== null && typeof p !== 'number' ? p : null)),
    sizes: pixels.map((p, i) => (typeof p === 'number' ? { bytes: inline[i]!.length, pixels: p } : null)),
    delivery: { url: job.callback_url!, webhookId: `msg_${randomUUID().replace(/-/g, '')}`, attempts: 0, nextAt: 0 }, requestHash,
  };
  if (!(await ctx.store.accept(record))) {
    // Another request took the id since the look-up above (a sender's retry racing the first try).
    const winner = await ctx.store.get(id);
    const inUse = winner?.state === 'queued' ? winner.blobs : [];
    await ctx.store.dropBlobs({ ...record, blobs: record.blobs.map((name, i) => (name && name !== inUse[i] ? name : null)) });
    if (winner && winner.requestHash === requestHash) return acceptedAnswer(winner, secret);
    throw duplicate(job.job_id);
  }
  await ctx.queue.enqueue(record);
  ctx.metrics.jobsAccepted.inc({ route: route.path });
  ctx.log({ level: 'info', msg: 'job accepted', job_id: job.job_id, route: route.path, candidates: job.candidates.length });
  return acceptedAnswer(record, secret);
}

const duplicate = (id: string) => new HttpError(409, 'DUPLICATE_JOB', `job ${id} was already accepted with another body`);

function acceptedAnswer(record: JobRecord, callbackSecret: string): Answer {
  const statusUrl = `/jobs/${record.route}/${encodeURIComponent(record.job.job_id)}`;
  return { status: 202, body: { job_id: record.job.job_id, state: 'queued', status_url: statusUrl, read_token: readToken(callbackSecret, record.id) } };
}

/** The key a message is remembered by: the sender's signed message id, else an Idempotency-Key header; per route. */
function messageKey(route: Route, messageId: string | null, idempotencyKey: string | string[] | undefined): string | null {
  if (messageId) return `${route.path}:id:${messageId}`;
  const header = Array.isArray(idempotencyKey) ? idempotencyKey[0] : idempotencyKey;
  if (header && /^[!-~]{1,255}$/.test(header)) return `${route.path}:key:${header}`;
  return null;
}
