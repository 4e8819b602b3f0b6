import type { Route } from './generated/webhook-config.js';
import type { WebhookJob } from './generated/webhook-job.js';
import { HttpError } from './errors.js';

/** A platform payload mapped to a job, or `ignored` for events that carry no finished images. */
export type Adapted = { job: unknown } | { ignored: string };

type Json = Record<string, unknown>;
const isObject = (x: unknown): x is Json => typeof x === 'object' && x !== null && !Array.isArray(x);

function needPolicy(route: Route): WebhookJob['policy'] {
  if (!route.policy) throw new HttpError(500, 'ROUTE_MISCONFIGURED', `route ${route.path} needs a policy for ${route.adapter} payloads`);
  return route.policy;
}

/**
 * Maps a payload to the job schema (the platform's prompt becomes the job's, which every candidate is scored against):
 * - generic: the payload is the job.
 * - replicate: a prediction (`id`, `status`, `output` = URL or list of URLs, `input.prompt`); only
 *   `succeeded` predictions become jobs, with the route's policy.
 * - fal: a queue result (`request_id`, `status` OK/ERROR, `payload.images[].url`, `payload.prompt`).
 * The job is validated against the schema afterwards, whatever the adapter.
 */
export function adapt(route: Route, payload: unknown): Adapted {
  const adapter = route.adapter ?? 'generic';
  if (adapter === 'generic') {
    if (isObject(payload) && route.callback_url && payload.callback_url === undefined) return { job: { ...payload, callback_url: route.callback_url } };
    return { job: payload };
  }
  if (!isObject(payload)) throw new HttpError(422, 'SCHEMA_VIOLATION', `a ${adapter} payload is a JSON object`);
  const callback = route.callback_url ? { callback_url: route.callback_url } : {};
  const grid = route.split_grids ? { grid: '2x2' } : {};
  if (adapter === 'replicate') {
    if (payload.status !== 'succeeded') return { ignored: `prediction status ${String(payload.status)}` };
    const output = Array.isArray(payload.output) ? payload.output : [payload.output];
    const prompt = isObject(payload.input) && typeof payload.input.prompt === 'string' ? { prompt: payload.input.prompt } : {};
    return { job: { job_id: payload.id, ...prompt, candidates: output.map((url, i) => ({ id: `${String(payload.id)}-${i}`, url, ...grid })), policy: needPolicy(route), ...callback } };
  }
  if (payload.status !== 'OK') return { ignored: `fal status ${String(payload.status)}` };
  const result = isObject(payload.payload) ? payload.payload : {};
  const images = Array.isArray(result.images) ? result.images : [];
  const prompt = typeof result.prompt === 'string' ? { prompt: result.prompt } : {};
  return {
    job: {
      job_id: payload.request_id, ...prompt,
      candidates: images.map((im, i) => ({ id: `${String(payload.request_id)}-${i}`, url: isObject(im) ? im.url : undefined, ...grid })),
      policy: needPolicy(route), ...callback,
    },
  };
}
