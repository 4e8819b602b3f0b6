import { createHmac } from 'node:crypto';

import { constantTimeEqual, header, type HeaderBag } from '@clip-agiqa/core/internal';

import { ConfigError, VerificationError } from '../errors.js';

/** Standard Webhooks' replay window: timestamps more than 5 minutes away from our clock are refused. */
export const DEFAULT_TOLERANCE_SECONDS = 5 * 60;

/** A `whsec_`-prefixed (or bare) base64 secret -> the HMAC key. */
export function decodeSecret(secret: string): Buffer {
  const key = Buffer.from(secret.startsWith('whsec_') ? secret.slice('whsec_'.length) : secret, 'base64');
  if (key.length === 0) throw new ConfigError('a webhook secret must be a non-empty base64 string (optionally prefixed whsec_)');
  return key;
}

/** `v1,<base64 HMAC-SHA256(key, "id.timestamp.body")>` */
export function sign(secret: string | Buffer, id: string, timestampSeconds: number, body: string | Buffer): string {
  const key = typeof secret === 'string' ? decodeSecret(secret) : secret;
  const mac = createHmac('sha256', key).update(`${id}.${timestampSeconds}.`).update(body).digest('base64');
  return `v1,${mac}`;
}

/** The headers of a signed delivery. */
export function signedHeaders(secret: string, id: string, body: string | Buffer, now = Date.now()): Record<string, string> {
  const timestamp = Math.floor(now / 1000);
  return { 'webhook-id': id, 'webhook-timestamp': String(timestamp), 'webhook-signature': sign(secret, id, timestamp, body) };
}

export type { HeaderBag };

/**
 * Checks what can be checked before the body arrives: the three headers are there and the timestamp
 * is within the tolerance. Returns the message id and timestamp.
 */
export function checkStandardWebhookHeaders(headers: HeaderBag, opts: { now?: number; toleranceSeconds?: number } = {}): { id: string; timestamp: number; signatures: string } {
  const id = header(headers, 'webhook-id');
  const ts = header(headers, 'webhook-timestamp');
  const signatures = header(headers, 'webhook-signature');
  if (!id || !ts || !signatures) throw new VerificationError('missing webhook-id, webhook-timestamp or webhook-signature header', 'MISSING_SIGNATURE');
  if (!/^\d{1,12}$/.test(ts)) throw new VerificationError('webhook-timestamp is not a Unix time in seconds', 'BAD_TIMESTAMP');
  const timestamp = Number(ts);
  const now = Math.floor((opts.now ?? Date.now()) / 1000);
  const tolerance = opts.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  if (timestamp < now - tolerance) throw new VerificationError('webhook-timestamp is too old', 'STALE_TIMESTAMP');
  if (timestamp > now + tolerance) throw new VerificationError('webhook-timestamp is in the future', 'FUTURE_TIMESTAMP');
  return { id, timestamp, signatures };
}

/**
 * Verifies the Standard Webhooks scheme on the raw body, in constant time, against every configured
 * secret (so secrets can be rotated) and returns the message id for replay protection.
 */
export function verifyStandardWebhook(secrets: readonly string[], headers: HeaderBag, body: Buffer | string, opts: { now?: number; toleranceSeconds?: number } = {}): { id: string; timestamp: number } {
  const { id, timestamp, signatures } = checkStandardWebhookHeaders(headers, opts);
  // Only the canonical encoding of a 32-byte MAC counts: Buffer.from would also take unpadded,
  // url-safe or stray-bit variants, so one signature would have many accepted spellings.
  const offered = signatures.split(' ').flatMap((entry) => {
    const [version, value] = entry.split(',', 2);
    if (version !== 'v1' || !value || !/^[A-Za-z0-9+/]{43}=$/.test(value)) return [];
    const mac = Buffer.from(value, 'base64');
    return mac.toString('base64') === value ? [mac] : [];
  });
  for (const secret of secrets) {
    const expected = Buffer.from(sign(secret, id, timestamp, body).slice(3), 'base64');
    if (offered.some((o) => constantTimeEqual(o, expected))) return { id, timestamp };
  }
  throw new VerificationError('no webhook-signature matches the body');
}
