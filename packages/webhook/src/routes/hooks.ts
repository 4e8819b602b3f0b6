import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

import { compileSchema } from '@clip-agiqa/core';

import { adapt } from '../adapters.js';
import type { ReplayGuard } from '../auth/replay-guard.js';
import { verifierFor } from '../auth/verifier.js';
import type { ResolvedConfig } from '../config/resolve.js';
import { HttpError } from '../errors.js';
import type { Route } from '../generated/webhook-config.js';
import { webhookJobSchema, type WebhookJob } from '../generated/webhook-job.js';
import type { WebhookVerdict } from '../generated/webhook-verdict.js';
import { readBody } from '../http/body.js';
import { send } from '../http/respond.js';
import type { Handler } from '../http/router.js';
import { decodeInline, type ImageFetcher } from '../jobs/images.js';
import { gatherImages, type AcceptQueue } from '../jobs/process.js';
import type { ScoreJob } from '../jobs/scoring.js';
import type { Log } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { JobRecord, JobStore } from '../store/job-store.js';
import type { Slots } from '../http/limit.js';

const validateJob = compileSchema<WebhookJob>(webhookJobSchema);

export interface HookContext {
  config: ResolvedConfig;
  store: JobStore;
  queue: AcceptQueue;
  replay: ReplayGuard;
  fetchImage: ImageFetcher;
  score: ScoreJob;
  /** Scores a synchronous request somewhere else (a worker, through the shared queue) instead of here. */
  scoreElsewhere?: (job: WebhookJob, inline: (Buffer | null)[]) => Promise<WebhookVerdict>;
  metrics: Metrics;
  log: Log;
  /** Hook requests in progress, across routes. */
  inFlight: Slots;
  isClosing(): boolean;
}

/** POST /hooks/<path>: verify, adapt and validate the payload, then answer with the verdict (sync) or accept the job (async). */
export function hookHandler(ctx: HookContext, route: Route): Handler {
  const verify = verifierFor(route);
  const { limits, fetch: fetchCfg } = ctx.config;
  return async (req, res) => {
    // Requests being read, verified or scored at once are bounded, and so is the memory their bodies hold.
    if (!ctx.inFlight.tryAcquire()) throw new HttpError(429, 'BUSY', 'too many requests in progress; retry later', { 'retry-after': '1' });
    try {
      await handle(req, res);
    } finally {
      ctx.inFlight.release();
    }
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req, limits.body_bytes);
    const messageId = verify(req.headers, body);
    let payload: unknown;
    try {
      payload = JSON.parse(body.toString('utf8'));
    } catch (e) {
      throw new HttpError(400, 'MALFORMED_JSON', `the body is not JSON: ${(e as Error).message}`);
    }
    const adapted = adapt(route, payload);
    if ('ignored' in adapted) return send(res, 200, { ignored: true, reason: adapted.ignored });
    const checked = validateJob(adapted.job);
    if (!checked.ok) throw new HttpError(422, 'SCHEMA_VIOLATION', 'the job does not match webhook-job.schema.json', {}, checked.errors);
    const job = checked.value;
    if (messageId) ctx.replay.check(`${route.path}:${messageId}`);
    const inline = job.candidates.map((cand, i) => (cand.base64 !== undefined ? decodeInline(cand.base64, cand.id ?? String(i), fetchCfg.max_bytes) : null));
    if (!job.callback_url) return answerNow(ctx, job, inline, res);
    return acceptJob(ctx, route, job, inline, res);
  }
}

/** Synchronous mode: the verdict is the response (scored here, or by a worker when the context says so). */
async function answerNow(ctx: HookContext, job: WebhookJob, inline: (Buffer | null)[], res: ServerResponse): Promise<void> {
  const verdict = ctx.scoreElsewhere ? await ctx.scoreElsewhere(job, inline) : await ctx.score(job, await gatherImages(ctx, job, inline));
  const undecodable = verdict.candidates.filter((cand) => cand.error && cand.error.code !== 'NETWORK');
  if (undecodable.length === verdict.candidates.length) {
    throw new HttpError(422, 'NO_USABLE_IMAGE', 'no candidate could be scored', {}, undecodable.map((cand) => ({ id: cand.id, ...cand.error })));
  }
  send(res, 200, verdict);
}

/** Asynchronous mode: the job is stored (durably) before the 202, then queued. */
async function acceptJob(ctx: HookContext, route: Route, job: WebhookJob, inline: (Buffer | null)[], res: ServerResponse): Promise<void> {
  if (!ctx.config.callback) throw new HttpError(422, 'NO_CALLBACK_SECRET', 'asynchronous jobs need the service\'s callback secret configured');
  if (ctx.isClosing()) throw new HttpError(503, 'SHUTTING_DOWN', 'the service is shutting down', { 'retry-after': '5' });
  if ((await ctx.queue.depth()) >= ctx.config.limits.queue) throw new HttpError(503, 'QUEUE_FULL', 'the job queue is full', { 'retry-after': '5' });
  const blobs = await Promise.all(inline.map((bytes, i) => (bytes ? ctx.store.putBlob(job.job_id, i, bytes) : null)));
  const stored: WebhookJob = { ...job, candidates: job.candidates.map(({ base64: _dropped, ...rest }) => rest) as WebhookJob['candidates'] };
  const now = Date.now();
  const record: JobRecord = {
    id: job.job_id, route: route.path, state: 'queued', job: stored, blobs, fetchErrors: blobs.map(() => null), acceptedAt: now, updatedAt: now,
    delivery: { url: job.callback_url!, webhookId: `msg_${randomUUID().replace(/-/g, '')}`, attempts: 0, nextAt: 0 },
  };
  if (!(await ctx.store.accept(record))) throw new HttpError(409, 'DUPLICATE_JOB', `job ${job.job_id} was already accepted`, {}, { status_url: `/jobs/${job.job_id}` });
  await ctx.queue.enqueue(record);
  ctx.metrics.inc('clip_agiqa_jobs_accepted_total', { route: route.path });
  ctx.log({ level: 'info', msg: 'job accepted', job_id: job.job_id, route: route.path, candidates: job.candidates.length });
  send(res, 202, { job_id: job.job_id, state: 'queued', status_url: `/jobs/${encodeURIComponent(job.job_id)}` });
}
