import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

import { HttpError } from '../errors.js';
import { sendError, toHttpError } from './respond.js';
import type { Router } from './router.js';

/**
 * The path of a request target, as sent: origin-form (`/a/b?q`) up to its query, or the path of an
 * absolute-form target. Never resolved against a base URL, which would read `//x/metrics` as host x
 * and path /metrics.
 */
export function requestPath(target: string): string {
  if (target.startsWith('/')) return target.split(/[?#]/, 1)[0]!;
  if (/^https?:\/\//i.test(target)) {
    try {
      return new URL(target).pathname;
    } catch { /* answered below */ }
  }
  throw new HttpError(400, 'BAD_PATH', 'the request target is not a path');
}

export interface HttpHooks {
  /** Called once per answered request with the matched route's template (null when none matched) and the status sent. */
  onResponse?(req: IncomingMessage, template: string | null, status: number): void;
  /** Called for every error answer; `unexpected` errors are bugs and carry the original error. */
  onError?(req: IncomingMessage, error: HttpError, cause: unknown, unexpected: boolean): void;
}

export interface HttpTimeouts {
  /** Time to receive a request's headers. */
  headersMs: number;
  /** Time to receive a whole request: a backstop behind the hook routes' own body timeout. */
  requestMs: number;
}

/**
 * A node:http server that dispatches through the router and answers every failure through one error
 * map. An error answered before the request body was read closes the connection, so a client cannot
 * keep the socket by sending the rest slowly.
 */
export function createHttpServer(router: Router, timeouts: HttpTimeouts, hooks: HttpHooks = {}): Server {
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = requestPath(req.url ?? '/');
    let template: string | null = null;
    res.once('finish', () => hooks.onResponse?.(req, template, res.statusCode));
    const match = router.match(req.method ?? 'GET', path);
    template = match.template;
    await match.handler(req, res, match.params);
  };
  // Node checks both timeouts every connectionsCheckingInterval: 1 s keeps them close to what is configured.
  const server = createServer({ headersTimeout: timeouts.headersMs, requestTimeout: Math.max(timeouts.requestMs, timeouts.headersMs), connectionsCheckingInterval: 1000 }, (req, res) => {
    handle(req, res).catch((e: unknown) => {
      const { error, unexpected } = toHttpError(e);
      hooks.onError?.(req, error, e, unexpected);
      sendError(res, error, !req.complete);
    });
  });
  return server;
}
