import type { IncomingMessage } from 'node:http';

import { HttpError } from '../errors.js';

/** The declared body size, when it already exceeds `limit`, as the 413 to answer before reading anything. */
export function declaredTooLarge(req: IncomingMessage, limit: number): HttpError | null {
  const declared = Number(req.headers['content-length'] ?? 0);
  return declared > limit ? new HttpError(413, 'PAYLOAD_TOO_LARGE', `the body is ${declared} bytes; the limit is ${limit}`) : null;
}

/** Why a hook body cannot be read as JSON from its headers alone (415), or null: it must be JSON, unencoded. */
export function unsupportedMedia(req: IncomingMessage): HttpError | null {
  const encoding = (req.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
  if (encoding !== 'identity') return new HttpError(415, 'UNSUPPORTED_ENCODING', `bodies are read as sent; content-encoding ${encoding.slice(0, 50)} is not supported`);
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/json' && !/^application\/[a-z0-9.+-]+\+json$/.test(type)) {
    return new HttpError(415, 'UNSUPPORTED_MEDIA_TYPE', `hook bodies are JSON (content-type: application/json), not ${type.slice(0, 100) || 'untyped'}`);
  }
  return null;
}

/** A body slower than the minimum rate gets this long before it is judged by it (TCP slow start, a client's first hiccup). */
export const MIN_RATE_GRACE_MS = 5000;

export interface BodyLimits {
  /** Largest body in bytes: a larger one (declared or streamed) is a 413. */
  limit: number;
  /** Time to receive the whole body: a slower one is a 408 BODY_TIMEOUT. */
  timeoutMs: number;
  /** Bytes a second the body must average once MIN_RATE_GRACE_MS have passed: a slower one is a 408 UPLOAD_TOO_SLOW (0: no minimum). */
  minBytesPerSecond?: number;
  /** Counts each chunk against a budget before it is kept; an error it returns ends the read with that answer. */
  account?(bytes: number): HttpError | null;
  /** Ends the read, answering with the signal's reason (an HttpError). */
  signal?: AbortSignal;
}

/** Reads a request body as it streams in, within the limits; on any breach reading stops at once. */
export function readBody(req: IncomingMessage, o: BodyLimits): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const early = declaredTooLarge(req, o.limit);
    if (early) return reject(early);
    const chunks: Buffer[] = [];
    let size = 0;
    const started = Date.now();
    const stop = (e: Error) => {
      clearTimeout(timer);
      clearInterval(pace);
      o.signal?.removeEventListener('abort', onAbort);
      req.removeListener('data', onData);
      req.pause();
      reject(e);
    };
    const timer = setTimeout(() => stop(new HttpError(408, 'BODY_TIMEOUT', `the body did not arrive within ${o.timeoutMs} ms`)), o.timeoutMs);
    const rate = o.minBytesPerSecond ?? 0;
    const pace = setInterval(() => {
      const elapsed = Date.now() - started;
      if (rate > 0 && elapsed >= MIN_RATE_GRACE_MS && size < (rate * elapsed) / 1000) {
        stop(new HttpError(408, 'UPLOAD_TOO_SLOW', `the body arrives at ${Math.round((size * 1000) / elapsed)} bytes/s; the minimum is ${rate}`));
      }
    }, 1000);
    const onData = (c: Buffer) => {
      size += c.length;
      if (size > o.limit) return stop(new HttpError(413, 'PAYLOAD_TOO_LARGE', `the body exceeds the ${o.limit}-byte limit`));
      const refused = o.account?.(c.length);
      if (refused) return stop(refused);
      chunks.push(c);
    };
    const onAbort = () => stop(o.signal!.reason as Error);
    o.signal?.addEventListener('abort', onAbort, { once: true });
    req.on('data', onData);
    req.on('end', () => { clearTimeout(timer); clearInterval(pace); o.signal?.removeEventListener('abort', onAbort); resolve(Buffer.concat(chunks)); });
    req.on('error', stop);
    req.on('aborted', () => stop(new HttpError(400, 'ABORTED', 'the client went away mid-body')));
  });
}
