import type { BlockList } from 'node:net';

import { blockedReason } from './ip.js';

/**
 * Why a callback URL cannot be used, or null: it must parse, be http(s), carry no credentials and, when
 * its host is an address, be reachable. A route's callback_url is checked at start-up, a job's when it
 * is accepted.
 */
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
