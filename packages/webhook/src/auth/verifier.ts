import type { Route } from '../generated/webhook-config.js';
import { verifyBearer } from './bearer.js';
import { checkFalHeaders, ed25519Key, verifyFalWebhook } from './fal.js';
import { checkStandardWebhookHeaders, verifyStandardWebhook, type HeaderBag } from './standard-webhooks.js';

export interface Verifier {
  /** Checks the credentials the headers carry, before any of the body is read; throws a VerificationError. */
  checkHeaders(headers: HeaderBag): void;
  /** True when `checkHeaders` authenticated the request (a token); false when only the body can tell (a signature). */
  readonly headersAuthenticate: boolean;
  /** Checks the signature on the raw body; returns the sender's message id (for idempotency), if the scheme has one. */
  verify(headers: HeaderBag, body: Buffer): string | null;
}

/** The verifier of a route, with its keys decoded once. */
export function verifierFor(route: Route): Verifier {
  switch (route.verifier) {
    case 'standard-webhooks': {
      const secrets = route.secrets ?? [];
      return { checkHeaders: (h) => void checkStandardWebhookHeaders(h), headersAuthenticate: false, verify: (h, body) => verifyStandardWebhook(secrets, h, body).id };
    }
    case 'fal': {
      const keys = (route.public_keys ?? []).map(ed25519Key);
      return { checkHeaders: (h) => void checkFalHeaders(h), headersAuthenticate: false, verify: (h, body) => verifyFalWebhook(keys, h, body).id };
    }
    case 'bearer': {
      const tokens = route.tokens ?? [];
      return { checkHeaders: (h) => verifyBearer(tokens, h), headersAuthenticate: true, verify: () => null };
    }
    case 'unsigned':
      return { checkHeaders: () => undefined, headersAuthenticate: false, verify: () => null };
  }
}
