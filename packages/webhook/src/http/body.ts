import type { IncomingMessage } from 'node:http';

import { HttpError } from '../errors.js';

/** The declared body size, when it already exceeds `limit`, as the 413 to answer before reading anything. */
export function declaredTooLarge(req: IncomingMessage, limit: number): HttpError | null {
  const declared = Number(req.headers['content-length'] ?? 0);
  return declared > limit ? new HttpError(413, 'PAYLOAD_TOO_LARGE', `the body is ${declared} bytes; the limit is ${limit}`) : null;
}

/**
 * Reads a request body as it streams in, up to `limit` bytes and within `timeoutMs` of starting: a
 * larger body (declared or streamed) is a 413, a slower one a 408. Either way reading stops at once.
 */
export function readBody(req: IncomingMessage, limit: number, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const early = declaredTooLarge(req, limit);
    if (early) return reject(early);
    const chunks: Buffer[] = [];
    let size = 0;
    const stop = (e: Error) => {
      clearTimeout(timer);
      req.removeListener('data', onData);
      req.pause();
      reject(e);
    };
    const timer = setTimeout(() => stop(new HttpError(408, 'BODY_TIMEOUT', `the body did not arrive within ${timeoutMs} ms`)), timeoutMs);
    const onData = (c: Buffer) => {
      size += c.length;
      if (size > limit) return stop(new HttpError(413, 'PAYLOAD_TOO_LARGE', `the body exceeds the ${limit}-byte limit`));
      chunks.push(c);
    };
    req.on('data', onData);
    req.on('end', () => { clearTimeout(timer); resolve(Buffer.concat(chunks)); });
    req.on('error', stop);
    req.on('aborted', () => stop(new HttpError(400, 'ABORTED', 'the client went away mid-body')));
  });
}
