import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

import type { HttpError } from '../errors.js';
import { sendError, toHttpError } from './respond.js';
import type { Router } from './router.js';

export interface HttpHooks {
  /** Called once per request with the matched route's template (null when none matched). */
  onRequest?(req: IncomingMessage, template: string | null): void;
  /** Called for every error answer; `unexpected` errors are bugs and carry the original error. */
  onError?(req: IncomingMessage, error: HttpError, cause: unknown, unexpected: boolean): void;
}

/** A node:http server that dispatches through the router and answers every failure through one error map. */
export function createHttpServer(router: Router, hooks: HttpHooks = {}): Server {
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = new URL(req.url ?? '/', 'http://service').pathname;
    let match;
    try {
      match = router.match(req.method ?? 'GET', path);
    } finally {
      hooks.onRequest?.(req, match?.template ?? null);
    }
    await match.handler(req, res, match.params);
  };
  const server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      const { error, unexpected } = toHttpError(e);
      hooks.onError?.(req, error, e, unexpected);
      sendError(res, error);
    });
  });
  server.requestTimeout = 120_000;
  server.headersTimeout = 30_000;
  return server;
}
