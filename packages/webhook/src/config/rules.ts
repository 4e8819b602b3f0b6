// What a configuration must satisfy beyond its schema, checked once at start-up. The rules an incoming
// job is checked by live with the hook routes (routes/job-rules.ts).
import type { BlockList } from 'node:net';

import { ed25519Key } from '../auth/fal.js';
import type { Route } from '../generated/webhook-config.js';
import { callbackUrlProblem } from '../net/callback-url.js';
import { parseAllowList } from '../net/ip.js';

/** Signing keys shorter than this are refused: HMAC-SHA256 with a guessable key authenticates nothing. */
export const MIN_SECRET_BYTES = 16;

/** Why a whsec_ secret is unusable, or null. */
export function secretProblem(secret: string | undefined): string | null {
  if (!secret) return 'is empty';
  const body = secret.startsWith('whsec_') ? secret.slice('whsec_'.length) : secret;
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(body)) return 'is not base64 (optionally prefixed whsec_)';
  const bytes = Buffer.from(body, 'base64').length;
  return bytes < MIN_SECRET_BYTES ? `decodes to ${bytes} bytes; use at least ${MIN_SECRET_BYTES} bytes` : null;
}

/** A list of CIDR ranges, or the problem with it. */
export function allowListProblem(cidrs: readonly string[]): string | null {
  try {
    parseAllowList(cidrs);
    return null;
  } catch (e) {
    return (e as Error).message;
  }
}

/** What each verifier needs on its route, beyond the schema. */
export function routeProblems(r: Route, allowUnsigned: boolean, callbackAllow: BlockList): string[] {
  const out: string[] = [];
  const where = `route ${r.path}`;
  if (r.verifier === 'unsigned' && !allowUnsigned) out.push(`${where} is unsigned: set allow_unsigned to accept unauthenticated requests`);
  if (r.verifier === 'standard-webhooks') {
    if (!r.secrets?.length) out.push(`${where}: standard-webhooks needs secrets`);
    r.secrets?.forEach((s, i) => { const p = secretProblem(s); if (p) out.push(`${where}: secret ${i + 1} ${p}`); });
  }
  if (r.verifier === 'fal') {
    if (!r.public_keys?.length) out.push(`${where}: fal needs public_keys`);
    r.public_keys?.forEach((k, i) => { try { ed25519Key(k); } catch (e) { out.push(`${where}: public key ${i + 1}: ${(e as Error).message}`); } });
  }
  if (r.verifier === 'bearer' && !r.tokens?.length) out.push(`${where}: bearer needs tokens`);
  if (r.callback_secret !== undefined) {
    const p = secretProblem(r.callback_secret);
    if (p) out.push(`${where}: callback_secret ${p}`);
  }
  if (r.callback_url !== undefined) {
    const p = callbackUrlProblem(r.callback_url, callbackAllow);
    if (p) out.push(`${where}: callback_url ${p}`);
  }
  return out;
}
