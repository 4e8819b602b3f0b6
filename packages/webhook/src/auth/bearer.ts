import { timingSafeEqual } from 'node:crypto';

import { VerificationError } from '../errors.js';
import type { HeaderBag } from './standard-webhooks.js';

/** Checks `Authorization: Bearer <token>` against the configured tokens, in constant time per token. */
export function verifyBearer(tokens: readonly string[], headers: HeaderBag): void {
  const auth = typeof headers.authorization === 'string' ? headers.authorization : '';
  const match = /^Bearer\s+(.*)$/i.exec(auth);
  const offered = Buffer.from(match?.[1] ?? '');
  const ok = tokens.some((t) => { const b = Buffer.from(t); return b.length === offered.length && timingSafeEqual(b, offered); });
  if (!match || !ok) throw new VerificationError('missing or wrong bearer token', 'BAD_TOKEN');
}
