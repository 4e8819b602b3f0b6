import { constantTimeEqual, header, type HeaderBag } from '@clip-agiqa/core/internal';

import { VerificationError } from '../errors.js';

/** Checks `Authorization: Bearer <token>` against the configured tokens, in constant time per token. */
export function verifyBearer(tokens: readonly string[], headers: HeaderBag): void {
  const match = /^Bearer\s+(.*)$/i.exec(header(headers, 'authorization') ?? '');
  if (!match || !tokens.some((t) => constantTimeEqual(t, match[1]!))) throw new VerificationError('missing or wrong bearer token', 'BAD_TOKEN');
}
