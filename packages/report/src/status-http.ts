/** HTTP pieces shared by the services' status pages. */
import { timingSafeEqual } from 'node:crypto';

/**
 * The secret a request presents: `Authorization: Bearer T`, or Basic with T as the password (any user
 * name), which is what a browser sends after its login prompt. Null when there is none.
 */
export function presentedSecret(authorization: string | undefined): string | null {
  if (!authorization) return null;
  const bearer = /^Bearer\s+(.+)$/i.exec(authorization);
  if (bearer) return bearer[1]!.trim();
  const basic = /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(authorization);
  if (!basic) return null;
  const decoded = Buffer.from(basic[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon >= 0 ? decoded.slice(colon + 1) : null;
}

/** Whether the request's Authorization header presents one of the accepted secrets (compared in constant time). */
export function presentsSecret(authorization: string | undefined, accepted: readonly string[]): boolean {
  const secret = presentedSecret(authorization);
  if (secret === null) return false;
  const offered = Buffer.from(secret);
  return accepted.some((a) => { const b = Buffer.from(a); return b.length === offered.length && timingSafeEqual(b, offered); });
}

/** Headers of a status page reply: never cached, never framed, no referrer. */
export const STATUS_PAGE_HEADERS = {
  'content-type': 'text/html; charset=utf-8',
  'cache-control': 'no-store',
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
} as const;

/** What a 401 carries so that a browser shows its login prompt. */
export const STATUS_CHALLENGE = { 'www-authenticate': 'Basic realm="clip-agiqa status", charset="UTF-8"' } as const;

/** Whether a host a server binds to is loopback only. */
export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}
