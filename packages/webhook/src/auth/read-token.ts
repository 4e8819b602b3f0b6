import { createHmac } from 'node:crypto';

import { decodeSecret } from './standard-webhooks.js';

/**
 * The token that lets its holder read one job's state (GET /jobs/:route/:id), returned when the job
 * is accepted. Derived from the route's callback secret, so nothing is stored and a retried request
 * gets the same token; rotating the secret invalidates the tokens.
 */
export function readToken(callbackSecret: string, recordId: string): string {
  return createHmac('sha256', decodeSecret(callbackSecret)).update(`job-read\0${recordId}`).digest('base64url');
}
