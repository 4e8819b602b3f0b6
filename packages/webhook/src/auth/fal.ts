import { createHash, createPublicKey, verify, type KeyObject } from 'node:crypto';

import { header } from '@clip-agiqa/core/internal';

import { ConfigError, VerificationError } from '../errors.js';
import { DEFAULT_TOLERANCE_SECONDS, type HeaderBag } from './standard-webhooks.js';

const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

/** An ED25519 public key from PEM, or from its 32 raw bytes in base64 / base64url (as fal's JWKS `x`); anything else is a ConfigError. */
export function ed25519Key(text: string): KeyObject {
  if (text.includes('BEGIN PUBLIC KEY')) {
    try {
      return createPublicKey(text);
    } catch (e) {
      throw new ConfigError(`not a usable PEM public key: ${(e as Error).message}`, [], { cause: e });
    }
  }
  const raw = Buffer.from(text.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
  if (raw.length !== 32) throw new ConfigError('an ED25519 public key is 32 bytes (base64) or a PEM block');
  return createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, raw]), format: 'der', type: 'spki' });
}

/** The message fal signs: request id, user id, timestamp and the body's SHA-256, one per line. */
export function falMessage(requestId: string, userId: string, timestamp: string, body: Buffer | string): Buffer {
  return Buffer.from(`${requestId}\n${userId}\n${timestamp}\n${createHash('sha256').update(body).digest('hex')}`);
}

/** Checks fal's signature headers before the body arrives: present, timestamp within the tolerance, signature well-formed. */
export function checkFalHeaders(headers: HeaderBag, opts: { now?: number; toleranceSeconds?: number } = {}): { requestId: string; userId: string; ts: string; signature: string } {
  const get = (name: string) => header(headers, name);
  const requestId = get('x-fal-webhook-request-id');
  const userId = get('x-fal-webhook-user-id');
  const ts = get('x-fal-webhook-timestamp');
  const signature = get('x-fal-webhook-signature');
  if (!requestId || !userId || !ts || !signature) throw new VerificationError('missing x-fal-webhook-* signature headers', 'MISSING_SIGNATURE');
  if (!/^\d{1,12}$/.test(ts)) throw new VerificationError('x-fal-webhook-timestamp is not a Unix time in seconds', 'BAD_TIMESTAMP');
  const now = Math.floor((opts.now ?? Date.now()) / 1000);
  if (Math.abs(now - Number(ts)) > (opts.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS)) {
    throw new VerificationError('x-fal-webhook-timestamp is outside the 5-minute window', 'STALE_TIMESTAMP');
  }
  if (!/^[0-9a-f]{128}$/i.test(signature)) throw new VerificationError('x-fal-webhook-signature is not a hex ED25519 signature');
  return { requestId, userId, ts, signature };
}

/** Verifies fal.ai's ED25519 webhook signature against the configured public keys. */
export function verifyFalWebhook(keys: readonly KeyObject[], headers: HeaderBag, body: Buffer | string, opts: { now?: number; toleranceSeconds?: number } = {}): { id: string; timestamp: number } {
  const { requestId, userId, ts, signature } = checkFalHeaders(headers, opts);
  const message = falMessage(requestId, userId, ts, body);
  const sig = Buffer.from(signature, 'hex');
  if (!keys.some((key) => verify(null, message, key, sig))) throw new VerificationError('the fal signature does not match any configured key');
  return { id: requestId, timestamp: Number(ts) };
}
