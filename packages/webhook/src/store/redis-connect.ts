import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

import { Redis } from 'ioredis';

import { RedisStartError, type RedisStartCode } from '../errors.js';

/** A Redis URL as logs may show it: scheme, user, host and port, never the password. */
export function redisAddress(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.username ? `${decodeURIComponent(u.username)}@` : ''}${u.host}${u.pathname.length > 1 ? u.pathname : ''}`;
  } catch {
    return '(unparsable URL)';
  }
}

/** What a failed connection or PING means: the cause in words, and whether waiting could help. */
export function classifyRedisError(url: string, e: unknown): RedisStartError {
  const err = e as { code?: string; message?: string };
  const message = err.message ?? String(e);
  const is = (code: RedisStartCode, text: string, permanent: boolean) => new RedisStartError(code, redisAddress(url), `${text} (${message})`, permanent);
  if (/WRONGPASS|NOAUTH|invalid password|AUTH.*without any password/i.test(message)) return is('REDIS_AUTH', 'authentication failed: check the user and password in store.url', true);
  if (/NOPERM/i.test(message)) return is('REDIS_ACL', 'the ACL user lacks a permission this service needs', true);
  if (/TLS|SSL|EPROTO|wrong version number|secure connection/i.test(message) || err.code === 'EPROTO') {
    return is('REDIS_TLS', url.startsWith('rediss:') ? 'TLS mismatch: rediss:// asks for TLS but this Redis speaks plain text (use redis://, or enable TLS on Redis)' : 'TLS mismatch', true);
  }
  if (err.code === 'ECONNREFUSED') return is('REDIS_REFUSED', 'connection refused: is Redis running and listening there?', false);
  if (err.code === 'ETIMEDOUT' || /timed? ?out/i.test(message)) return is('REDIS_TIMEOUT', 'connection timed out', false);
  if (err.code === 'ENOTFOUND' || err.code === 'EAI_AGAIN') return is('REDIS_UNREACHABLE', 'host name not resolved', false);
  return is('REDIS_UNREACHABLE', 'no answer', false);
}

/** Whether a plain-text Redis answers at the URL's host and port (a rediss:// URL then has the wrong scheme). */
async function speaksPlainRedis(url: string, timeoutMs: number): Promise<boolean> {
  const u = new URL(url);
  return new Promise((resolve) => {
    const socket = connect({ host: u.hostname.replace(/^\[|\]$/g, ''), port: Number(u.port || 6379) });
    const done = (v: boolean) => { socket.destroy(); resolve(v); };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (d: Buffer) => done(/^[+-]/.test(d.toString('latin1'))));
  });
}

/** One connection and PING, with no retry of its own. */
async function probe(url: string, timeoutMs: number): Promise<void> {
  // ioredis' connect and disconnect timers outlive a refused socket (they would delay exit by seconds): short ones, and ours.
  const client = new Redis(url, { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0, connectTimeout: 0, disconnectTimeout: 10, enableOfflineQueue: false });
  let lastError: unknown = null;
  client.on('error', (e: unknown) => { lastError ??= e; });
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(Object.assign(new Error('connect ETIMEDOUT'), { code: 'ETIMEDOUT' })), timeoutMs);
  });
  try {
    await Promise.race([(async () => { await client.connect(); await client.ping(); })(), timedOut]);
  } catch (e) {
    // ioredis reports a connection that died in a handshake as "Connection is closed."; the socket's error says why.
    const cause = lastError ?? e;
    const plain = url.startsWith('rediss:') && !/WRONGPASS|NOAUTH|NOPERM/.test(String((cause as Error)?.message)) && await speaksPlainRedis(url, timeoutMs);
    throw plain ? Object.assign(new Error('the server answered in plain text, not TLS'), { code: 'EPROTO' }) : cause;
  } finally {
    clearTimeout(timer);
    client.disconnect();
  }
}

export interface WaitForRedisOptions {
  /** How long a transient cause (refused, timeout) is waited out; then the last cause is thrown. */
  waitMs: number;
  /** Stops waiting (a SIGTERM): rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Called for each failed try that will be retried. */
  onRetry?(e: RedisStartError, delayMs: number): void;
  /** Timeout of one try (default 2 s). */
  tryTimeoutMs?: number;
}

/**
 * Resolves once Redis answers PING at `url`. A permanent cause (credentials, ACL, TLS) is thrown at once;
 * a transient one is retried with backoff (0.25 s doubling to 5 s) until `waitMs` is over.
 */
export async function waitForRedis(url: string, o: WaitForRedisOptions): Promise<void> {
  const deadline = Date.now() + o.waitMs;
  for (let attempt = 0; ; attempt++) {
    o.signal?.throwIfAborted();
    try {
      await probe(url, o.tryTimeoutMs ?? 2000);
      return;
    } catch (e) {
      const cause = classifyRedisError(url, e);
      const delayMs = Math.min(5000, 250 * 2 ** attempt, deadline - Date.now());
      if (cause.permanent || delayMs <= 0) throw cause;
      o.onRetry?.(cause, delayMs);
      await sleep(delayMs, undefined, { signal: o.signal });
    }
  }
}
