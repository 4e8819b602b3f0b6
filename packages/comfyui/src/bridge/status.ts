import type { IncomingMessage, ServerResponse } from 'node:http';

import { fromWirePolicy, type Scorer, type WirePolicy } from '@clip-agiqa/core';
import { isLoopbackHost, presentsSecret, renderStatusPage, ServiceActivity, stampOf, STATUS_CHALLENGE, STATUS_PAGE_HEADERS } from '@clip-agiqa/report';

import type { BridgeResult } from '../generated/bridge-server-message.js';

export interface BridgeStatusOptions {
  scorer: Scorer;
  host: string;
  token: string | undefined;
  /** Live numbers: clients, images waiting, being scored… */
  gauges: () => [string, number][];
}

/**
 * The bridge's read-only status page (GET /status): what it is doing, the latest verdicts with small
 * thumbnails, the latest errors. It asks for the bridge token (Bearer, or as the Basic password a browser
 * prompts for); a bridge without a token serves it only on a loopback address.
 */
export function bridgeStatus(o: BridgeStatusOptions) {
  const activity = new ServiceActivity();
  const startedAt = new Date().toISOString();
  const refused = !o.token && !isLoopbackHost(o.host);

  /** One line on a verdict, in the current words whatever spelling the client used (gate is a filter). */
  function verdictText(d: BridgeResult['decision'], policy: WirePolicy, n: number): string {
    const { mode } = fromWirePolicy(policy);
    if (mode === 'filter' || mode === 'reroll-if-none-pass') return `${mode}: ${d.passed.length} of ${n} passed${d.threshold !== undefined ? ` (threshold ${d.threshold.toFixed(3)})` : ''}`;
    if (mode === 'best-of') return `best-of: kept ${d.passed.length} of ${n}`;
    return `scored ${n}`;
  }

  return {
    activity,
    recordResult(client: string, id: string, policy: WirePolicy, scores: (number | null)[], decision: BridgeResult['decision'], images: Parameters<ServiceActivity['recordVerdict']>[1]) {
      activity.recordVerdict({ scope: client, id, verdict: verdictText(decision, policy, scores.length), scores, kept: decision.passed }, images);
    },
    handle(req: IncomingMessage, res: ServerResponse): void {
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405, { allow: 'GET, HEAD' }).end();
        return;
      }
      if (refused) {
        res.writeHead(403, { 'content-type': 'text/plain' }).end('the status page needs a bridge token when the bridge listens beyond loopback\n');
        return;
      }
      if (o.token && !presentsSecret(req.headers.authorization, [o.token])) {
        res.writeHead(401, { 'content-type': 'text/plain', ...STATUS_CHALLENGE }).end('the bridge token is required\n');
        return;
      }
      const html = renderStatusPage({
        service: 'clip-agiqa bridge', model: stampOf(o.scorer.model, o.scorer.model.heads[0]), startedAt, now: new Date().toISOString(),
        gauges: o.gauges(), activity: activity.snapshot(),
      });
      res.writeHead(200, STATUS_PAGE_HEADERS).end(req.method === 'HEAD' ? undefined : html);
    },
  };
}
