import type { Route } from '../generated/webhook-config.js';
import { verifyBearer } from './bearer.js';
import { ed25519Key, verifyFalWebhook } from './fal.js';
import { verifyStandardWebhook, type HeaderBag } from './standard-webhooks.js';

/** Checks a request's credentials on its raw body; returns the sender's message id (for replay protection), if the scheme has one. */
export type Verifier = (headers: HeaderBag, body: Buffer) => string | null;

/** The verifier of a route, with its keys decoded once. */
export function verifierFor(route: Route): Verifier {
  switch (route.verifier) {
    case 'standard-webhooks': {
      const secrets = route.secrets ?? [];
      return (headers, body) => verifyStandardWebhook(secrets, headers, body).id;
    }
    case 'fal': {
      const keys = (route.public_keys ?? []).map(ed25519Key);
      return (headers, body) => verifyFalWebhook(keys, headers, body).id;
    }
    case 'bearer': {
      const tokens = route.tokens ?? [];
      return (headers) => { verifyBearer(tokens, headers); return null; };
    }
    case 'unsigned':
      return () => null;
  }
}
