import { HttpError } from '../errors.js';
import { send } from '../http/respond.js';
import type { Handler } from '../http/router.js';
import type { JobStore } from '../store/job-store.js';

/** GET /jobs/:id: the state of an asynchronous job and of its delivery. */
export function jobStatusHandler(store: JobStore): Handler {
  return async (_req, res, params) => {
    const rec = await store.get(params.id!);
    if (!rec) throw new HttpError(404, 'NOT_FOUND', 'no such job');
    send(res, 200, { job_id: rec.id, state: rec.state, verdict: rec.verdict ?? null,
      delivery: { attempts: rec.delivery.attempts, webhook_id: rec.delivery.webhookId, last_error: rec.delivery.lastError ?? null, delivered_at: rec.delivery.deliveredAt ?? null } });
  };
}
