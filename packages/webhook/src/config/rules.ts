import { fromWirePolicy, PolicyError, type ModelInfo, type WireError, type WirePolicy } from '@clip-agiqa/core';

import { ed25519Key } from '../auth/fal.js';
import type { Route } from '../generated/webhook-config.js';
import { blockedReason, parseAllowList } from '../net/ip.js';
import type { BlockList } from 'node:net';

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

/** Why a callback URL cannot be used, or null: it must parse, be http(s), carry no credentials and, when its host is an address, be reachable. */
export function callbackUrlProblem(url: string, allow: BlockList): string | null {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return 'is not a URL';
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return `uses ${u.protocol}; only http and https are delivered to`;
  if (u.username || u.password) return 'carries credentials; put a token in the path or query instead';
  if (!u.hostname) return 'has no host';
  const literal = u.hostname.replace(/^\[|\]$/g, '');
  if (/^[\d.]+$|:/.test(literal)) {
    const blocked = blockedReason(literal, allow);
    if (blocked) return `reaches a blocked address (${blocked}); allow its range in callback.allow`;
  }
  return null;
}

/** Why a job's metadata is refused (larger than `limit` bytes of JSON), or null. */
export function metadataProblem(metadata: object | undefined, limit: number): string | null {
  if (metadata === undefined) return null;
  const bytes = Buffer.byteLength(JSON.stringify(metadata));
  return bytes > limit ? `metadata is ${bytes} bytes of JSON; this route takes at most ${limit}` : null;
}

/**
 * Why core cannot apply a policy with this model, as a wire error, or null: core's one policy check, so
 * the service refuses exactly what the library and the ComfyUI bridge refuse. Checked when a job is
 * accepted (and a route's policy at start-up), so none fails after its 202.
 */
export function policyProblem(policy: WirePolicy, model: ModelInfo): WireError | null {
  try {
    fromWirePolicy(policy, model.heads);
    return null;
  } catch (e) {
    if (e instanceof PolicyError) return e.toJSON();
    throw e;
  }
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
