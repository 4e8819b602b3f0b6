import type { ServerResponse } from 'node:http';

import { isClipAgiqaError } from '@clip-agiqa/core';

import { HttpError } from '../errors.js';

/** Writes a JSON body (or a text body, for the metrics exposition) unless an answer was already sent. */
export function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent) return;
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, { 'content-type': typeof body === 'string' ? 'text/plain; version=0.0.4' : 'application/json', ...headers });
  res.end(text);
}

/**
 * The one map from a thrown error to an HTTP answer: HttpErrors as they are, the SDK's coded errors
 * as 422 with their code, anything else as a 500 that reveals nothing (`unexpected` says to log it).
 */
export function toHttpError(e: unknown): { error: HttpError; unexpected: boolean } {
  if (e instanceof HttpError) return { error: e, unexpected: false };
  if (isClipAgiqaError(e)) return { error: new HttpError(422, e.code, e.message), unexpected: false };
  return { error: new HttpError(500, 'INTERNAL', 'internal error'), unexpected: true };
}

/** Answers with an error; `close` ends the connection after it (the request body was not read to its end). */
export function sendError(res: ServerResponse, err: HttpError, close: boolean): void {
  send(res, err.status, err.body(), close ? { ...err.headers, connection: 'close' } : err.headers);
}
