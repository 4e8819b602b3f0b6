import { defsSchema } from '@clip-agiqa/core/internal';

import type { Route } from './generated/webhook-config.js';
import { webhookJobSchema } from './generated/webhook-job.js';
import { webhookVerdictSchema } from './generated/webhook-verdict.js';

/** OpenAPI 3.1 (whose schema language is JSON Schema 2020-12) built from the wire-format schemas. */
export function openApiDocument(routes: readonly Route[]): object {
  // Every error answer: the shared wire error object, and per-item details where there are some.
  const error = { type: 'object', required: ['error'], properties: { error: defsSchema.$defs.error, details: {} } };
  const errors = Object.fromEntries([400, 401, 409, 413, 422, 429, 503].map((s) => [String(s), { description: 'error', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } }]));
  const paths: Record<string, object> = {};
  for (const r of routes) {
    paths[`/hooks/${r.path}`] = {
      post: {
        summary: `Submit a generation job (${r.adapter ?? 'generic'} payload, ${r.verifier} authentication)`,
        requestBody: { required: true, content: { 'application/json': { schema: (r.adapter ?? 'generic') === 'generic' ? { $ref: '#/components/schemas/WebhookJob' } : { type: 'object' } } } },
        responses: {
          200: { description: 'The verdict (no callback_url)', content: { 'application/json': { schema: { $ref: '#/components/schemas/WebhookVerdict' } } } },
          202: { description: 'Accepted; the verdict goes to callback_url as a signed event' },
          ...errors,
        },
      },
    };
  }
  paths['/jobs/{id}'] = { get: { summary: 'State of an asynchronous job', parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }], responses: { 200: { description: 'job state' }, 404: errors['400'] } } };
  for (const p of ['/healthz', '/readyz', '/metrics']) paths[p] = { get: { responses: { 200: { description: 'ok' } } } };
  return {
    openapi: '3.1.0',
    info: { title: 'clip-agiqa webhook service', version: '1' },
    paths,
    // Definitions is what the job's and the verdict's defs.schema.json references resolve to, by its $id.
    components: { schemas: { WebhookJob: webhookJobSchema, WebhookVerdict: webhookVerdictSchema, Definitions: defsSchema, Error: error } },
  };
}
