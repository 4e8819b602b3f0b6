import { timingSafeEqual } from 'node:crypto';

import { WebhookVerificationError } from './error.js';
import { sign } from './sign.js';

/** Standard Webhooks' replay window: timestamps more than 5 minutes away from our clock are refused. */
export const DEFAULT_TOLERANCE_SECONDS = 5 * 60;

/** Request headers as Node's http module gives them (lower-case names) or as a fetch `Headers`. */
export type WebhookHeaders = Readonly<Record<string, string | string[] | undefined>> | { get(name: string): string | null };

export interface VerifyOptions {
  /** The clock, in milliseconds (default: now). */
  now?: number;
  /** How far the timestamp may be from `now`, in seconds (default: 300). */
  toleranceSeconds?: number;
}

function headerValue(headers: WebhookHeaders, name: string): string | undefined {
  if (typeof headers.get === 'function') return (headers as { get(name: string): string | null }).get(name) ?? undefined;
  const value = (headers as Readonly<Record<string, string | string[] | undefined>>)[name];
  return Array.isArray(value) ? value[0] : value;
}

/**
 * Checks what can be checked before the body arrives: the three headers are there and the timestamp
 * is within the tolerance. Returns the message id, the timestamp and the offered signatures.
 */
export function checkWebhookHeaders(headers: WebhookHeaders, opts: VerifyOptions = {}): { id: string; timestamp: number; signatures: string } {
  const id = headerValue(headers, 'webhook-id');
  const ts = headerValue(headers, 'webhook-timestamp');
  const signatures = headerValue(headers, 'webhook-signature');
  if (!id || !ts || !signatures) throw new WebhookVerificationError('MISSING_SIGNATURE', 'missing webhook-id, webhook-timestamp or webhook-signature header');
  if (!/^\d{1,12}$/.test(ts)) throw new WebhookVerificationError('BAD_TIMESTAMP', 'webhook-timestamp is not a Unix time in seconds');
  const timestamp = Number(ts);
  const now = Math.floor((opts.now ?? Date.now()) / 1000);
  const tolerance = opts.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  if (timestamp < now - tolerance) throw new WebhookVerificationError('STALE_TIMESTAMP', 'webhook-timestamp is too old');
  if (timestamp > now + tolerance) throw new WebhookVerificationError('FUTURE_TIMESTAMP', 'webhook-timestamp is in the future');
  return { id, timestamp, signatures };
}

/**
 * Verifies a Standard Webhooks delivery on its raw body, in constant time, against every given secret
 * (so secrets can be rotated). Returns the message id (keep it to refuse replays) and the timestamp;
 * throws WebhookVerificationError otherwise.
 */
export function verifyWebhook(secrets: string | readonly string[], headers: WebhookHeaders, body: Buffer | string, opts: VerifyOptions = {}): { id: string; timestamp: number } {
  const { id, timestamp, signatures } = checkWebhookHeaders(headers, opts);
  // Only the canonical encoding of a 32-byte MAC counts: Buffer.from would also take unpadded,
  // url-safe or stray-bit variants, so one signature would have many accepted spellings.
  const offered = signatures.split(' ').flatMap((entry) => {
    const [version, value] = entry.split(',', 2);
    if (version !== 'v1' || !value || !/^[A-Za-z0-9+/]{43}=$/.test(value)) return [];
    const mac = Buffer.from(value, 'base64');
    return mac.toString('base64') === value ? [mac] : [];
  });
  for (const secret of typeof secrets === 'string' ? [secrets] : secrets) {
    const expected = Buffer.from(sign(secret, id, timestamp, body).slice(3), 'base64');
    if (offered.some((o) => timingSafeEqual(o, expected))) return { id, timestamp };
  }
  throw new WebhookVerificationError('BAD_SIGNATURE', 'no webhook-signature matches the body');
}
