import type { IncomingMessage } from 'node:http';

import { constantTimeEqual as same, header } from '@clip-agiqa/core/internal';

import { readToken } from '../auth/read-token.js';
import { HttpError, VerificationError } from '../errors.js';
import type { Route } from '../generated/webhook-config.js';
import { send } from '../http/respond.js';
import type { Handler } from '../http/router.js';
import type { JobStore } from '../store/job-store.js';

/** A job's record id: job ids are namespaced per route, so one tenant can never take or read another's. */
export const recordId = (route: string, jobId: string) => `${route}/${jobId}`;

function bearer(req: IncomingMessage): string | null {
  const m = /^Bearer\s+(\S+)$/i.exec(header(req.headers, 'authorization') ?? '');
  return m ? m[1]! : null;
}

/**
 * GET /jobs/:route/:id: the state of an asynchronous job and of its delivery, for the holder of the
 * job's read token or of the route's bearer token. It never shows the callback URL (which may carry a
 * token) nor what its host resolved to.
 */
export function jobStatusHandler(store: JobStore, routes: readonly Route[], callbackSecretOf: (route: Route) => string | undefined): Handler {
  const byPath = new Map(routes.map((r) => [r.path, r]));
  return async (req, res, params) => {
    const route = byPath.get(params.route!);
    if (!route) throw new HttpError(404, 'NOT_FOUND', 'no such job');
    const id = recordId(route.path, params.id!);
    const offered = bearer(req);
    const secret = callbackSecretOf(route);
    const allowed = offered !== null && ((secret !== undefined && same(offered, readToken(secret, id))) || (route.tokens ?? []).some((t) => same(offered, t)));
    if (!allowed) throw new VerificationError('reading a job needs its read token or the route\'s bearer token (Authorization: Bearer ...)', 'BAD_TOKEN');
    const rec = await store.get(id);
    if (!rec) throw new HttpError(404, 'NOT_FOUND', 'no such job');
    send(res, 200, { job_id: rec.job.job_id, route: rec.route, state: rec.state, verdict: rec.verdict ?? null,
      delivery: { attempts: rec.delivery.attempts, webhook_id: rec.delivery.webhookId, last_error: rec.delivery.lastError ?? null, delivered_at: rec.delivery.deliveredAt ?? null },
      dead_cause: rec.deadCause ? { stage: rec.deadCause.stage, attempts: rec.deadCause.attempts, error: rec.deadCause.error } : null });
  };
}
