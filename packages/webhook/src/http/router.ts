import type { IncomingMessage, ServerResponse } from 'node:http';

import { HttpError } from '../errors.js';

export type Params = Record<string, string>;
export type Handler = (req: IncomingMessage, res: ServerResponse, params: Params) => void | Promise<void>;

interface Entry {
  method: string;
  /** The path as written (`/jobs/:id`): also the bounded label metrics use. */
  template: string;
  segments: string[];
  handler: Handler;
}

export interface Match {
  template: string;
  handler: Handler;
  params: Params;
}

/** Exact paths with `:name` segments; a known path with another method is a 405 naming the allowed ones. */
export class Router {
  private readonly entries: Entry[] = [];

  add(method: string, template: string, handler: Handler): this {
    this.entries.push({ method, template, segments: template.split('/'), handler });
    return this;
  }

  /** The handler for a request, or an HttpError (404 / 405) to answer with. HEAD is served by the GET handler (Node sends no body). */
  match(method: string, path: string): Match {
    const parts = path.split('/');
    const allowed: string[] = [];
    for (const e of this.entries) {
      const params = matchSegments(e.segments, parts);
      if (!params) continue;
      if (e.method === method || (method === 'HEAD' && e.method === 'GET')) return { template: e.template, handler: e.handler, params };
      allowed.push(e.method);
    }
    if (allowed.length) throw new HttpError(405, 'METHOD_NOT_ALLOWED', `${path} takes ${allowed.join(', ')}`, { allow: allowed.join(', ') });
    throw new HttpError(404, 'NOT_FOUND', `no route ${method} ${path}`);
  }
}

function matchSegments(pattern: string[], parts: string[]): Params | null {
  if (pattern.length !== parts.length) return null;
  const params: Params = {};
  for (const [i, p] of pattern.entries()) {
    const part = parts[i]!;
    if (p.startsWith(':')) {
      if (!part) return null;
      try {
        params[p.slice(1)] = decodeURIComponent(part);
      } catch {
        throw new HttpError(400, 'BAD_PATH', `the path segment ${part.slice(0, 100)} is not valid percent-encoding`);
      }
    } else if (p !== part) return null;
  }
  return params;
}
