import { createHmac } from 'node:crypto';

import { WebhookVerificationError } from './error.js';

/** A `whsec_`-prefixed (or bare) base64 secret -> the HMAC key. */
export function decodeSecret(secret: string): Buffer {
  const key = Buffer.from(secret.startsWith('whsec_') ? secret.slice('whsec_'.length) : secret, 'base64');
  if (key.length === 0) throw new WebhookVerificationError('INVALID_SECRET', 'a webhook secret must be a non-empty base64 string (optionally prefixed whsec_)');
  return key;
}

/** `v1,<base64 HMAC-SHA256(key, "id.timestamp.body")>` */
export function sign(secret: string | Buffer, id: string, timestampSeconds: number, body: string | Buffer): string {
  const key = typeof secret === 'string' ? decodeSecret(secret) : secret;
  const mac = createHmac('sha256', key).update(`${id}.${timestampSeconds}.`).update(body).digest('base64');
  return `v1,${mac}`;
}

/** The headers of a signed delivery: webhook-id, webhook-timestamp (now) and webhook-signature. */
export function signedHeaders(secret: string, id: string, body: string | Buffer, now = Date.now()): Record<string, string> {
  const timestamp = Math.floor(now / 1000);
  return { 'webhook-id': id, 'webhook-timestamp': String(timestamp), 'webhook-signature': sign(secret, id, timestamp, body) };
}
