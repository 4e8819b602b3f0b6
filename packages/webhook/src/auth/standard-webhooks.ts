// The service signs and verifies with @clip-agiqa/webhook-verify, the package receivers install alone;
// here its errors become the service's own (a 401 answer, a configuration error).
import { checkWebhookHeaders, decodeSecret as decodeKey, verifyWebhook, WebhookVerificationError, type VerifyOptions } from '@clip-agiqa/webhook-verify';
import type { HeaderBag } from '@clip-agiqa/core/internal';

import { ConfigError, VerificationError } from '../errors.js';

export { DEFAULT_TOLERANCE_SECONDS, sign, signedHeaders } from '@clip-agiqa/webhook-verify';
export type { HeaderBag };

function withServiceErrors<T>(run: () => T): T {
  try {
    return run();
  } catch (e) {
    if (!(e instanceof WebhookVerificationError)) throw e;
    throw e.code === 'INVALID_SECRET' ? new ConfigError(e.message) : new VerificationError(e.message, e.code);
  }
}

/** A `whsec_`-prefixed (or bare) base64 secret -> the HMAC key. */
export function decodeSecret(secret: string): Buffer {
  return withServiceErrors(() => decodeKey(secret));
}

/** The three headers are there and the timestamp is within the tolerance (before the body arrives). */
export function checkStandardWebhookHeaders(headers: HeaderBag, opts: VerifyOptions = {}): { id: string; timestamp: number; signatures: string } {
  return withServiceErrors(() => checkWebhookHeaders(headers, opts));
}

/** The Standard Webhooks signature against every configured secret; returns the message id for replay protection. */
export function verifyStandardWebhook(secrets: readonly string[], headers: HeaderBag, body: Buffer | string, opts: VerifyOptions = {}): { id: string; timestamp: number } {
  return withServiceErrors(() => verifyWebhook(secrets, headers, body, opts));
}
