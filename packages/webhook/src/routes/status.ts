import type { IncomingMessage, ServerResponse } from 'node:http';

import type { Scorer } from '@clip-agiqa/core';
import { isLoopbackHost, presentsSecret, renderStatusPage, ServiceActivity, stampOf, STATUS_CHALLENGE, STATUS_PAGE_HEADERS } from '@clip-agiqa/report';

import type { ResolvedConfig } from '../config/resolve.js';
import { HttpError } from '../errors.js';
import type { Handler } from '../http/router.js';
import type { VerdictEvents } from '../jobs/verdict-events.js';

export interface StatusPageOptions {
  /** The operator's secret for GET /status (Bearer, or the Basic password a browser prompts for). Without it the pages are served only on a loopback host. */
  token?: string;
}

/**
 * Read-only status pages. GET /status: the whole service, for the operator's token. GET /status/<route>:
 * one route's verdicts and errors only, for the operator's token or that route's own bearer tokens, so a
 * tenant never sees another route's images.
 */
export function statusPages(o: StatusPageOptions, config: ResolvedConfig, scorer: Scorer, gauges: () => [string, number][]) {
  const activity = new ServiceActivity();
  const startedAt = new Date().toISOString();
  const openOnLoopback = !o.token && isLoopbackHost(config.host);

  function page(req: IncomingMessage, res: ServerResponse, route: string | null): void {
    const accepted = [...(o.token ? [o.token] : []), ...(route ? config.routes.find((r) => r.path === route)?.tokens ?? [] : [])];
    if (!openOnLoopback && !presentsSecret(req.headers.authorization, accepted)) {
      if (!o.token && !accepted.length) throw new HttpError(403, 'STATUS_PAGE_CLOSED', 'status pages need a token when the service listens beyond loopback');
      throw new HttpError(401, 'UNAUTHORIZED', 'the status page needs its token', STATUS_CHALLENGE);
    }
    if (route !== null && !config.routes.some((r) => r.path === route)) throw new HttpError(404, 'NOT_FOUND', 'no such route');
    const html = renderStatusPage({
      service: 'clip-agiqa serve', ...(route !== null ? { scope: `route ${route}` } : {}), model: stampOf(scorer.model, scorer.model.heads[0]),
      startedAt, now: new Date().toISOString(), gauges: route === null ? gauges() : [], activity: activity.snapshot(route === null ? undefined : [route]),
    });
    res.writeHead(200, STATUS_PAGE_HEADERS).end(html);
  }

  return {
    all: ((req, res) => page(req, res, null)) as Handler,
    route: ((req, res, params) => page(req, res, params.route!)) as Handler,
    /** Wraps the job scorer so that each verdict is recorded under its route. */
    /** Records every verdict `events` tells of, with the candidates' thumbnails. */
    listen(events: VerdictEvents): void {
      events.on('verdict', async ({ job, images, route, verdict }) => {
        const head = typeof verdict.policy.head === 'string' ? verdict.policy.head : scorer.model.heads[0]!.name;
        const sameShape = images.length === verdict.candidates.length;
        activity.recordVerdict({
          scope: route ?? 'unknown route', id: job.job_id, verdict: `${verdict.type}: ${verdict.passed.length} of ${verdict.candidates.length} passed${verdict.winner ? `, winner ${verdict.winner}` : ''}`,
          scores: verdict.candidates.map((c) => c.scores?.[head] ?? null),
          kept: verdict.candidates.flatMap((c, i) => (c.passed ? [i] : [])),
        }, sameShape ? await Promise.all(images.map((im) => ('load' in im ? im.load().catch(() => NO_IMAGE) : NO_IMAGE))) : []);
      });
    },
    recordError(route: string, code: string, message: string): void {
      activity.recordError(route, code, message);
    },
  };
}

/** Stands in for a candidate whose image could not be fetched: it gets no thumbnail, and the others keep their places. */
const NO_IMAGE = new Uint8Array(0);
