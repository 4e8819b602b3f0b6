import type { IncomingMessage, Server, ServerResponse } from 'node:http';

import { onHello } from './auth.js';
import { resolveBridgeOptions, type BridgeOptions } from './options.js';
import { Peer, readTextFrame } from './protocol.js';
import { ScoringRoom } from './scoring.js';
import { bridgeStatus } from './status.js';
import { openTransport } from './transport.js';

export { BRIDGE_PROTOCOL } from './protocol.js';
export type { BridgeOptions } from './options.js';

export interface Bridge {
  readonly url: string;
  readonly port: number;
  readonly server: Server;
  /** Stops accepting, answers the requests whose images are all here, then closes every socket (1001). */
  close(): Promise<void>;
}

/**
 * The websocket bridge in front of one scorer: ComfyUI nodes (or any client) send score requests with
 * their images as binary frames; requests of all clients meet in the scorer's micro-batcher. In-flight
 * images are bounded over all clients (a `busy` reply beyond), dead peers are dropped by heartbeat, and
 * every bad message gets a typed `error` without harming other requests or clients. Its rooms: the
 * transport (HTTP, websocket, heartbeat), the protocol (frames and replies), auth (hello), scoring
 * (requests to verdicts) and the status page.
 */
export async function startBridge(options: BridgeOptions): Promise<Bridge> {
  const o = resolveBridgeOptions(options);
  const peers = new Set<Peer>();
  const status = o.statusPage ? bridgeStatus({
    scorer: o.scorer, host: o.host, token: o.token,
    // Read when the page is served, after `scoring` exists.
    gauges: (): [string, number][] => [['clients', peers.size], ['images waiting or in scoring', scoring.pendingImages], ['requests in scoring', scoring.inScoring.size]],
  }) : null;
  const scoring: ScoringRoom = new ScoringRoom(o.scorer, o, o.log, status);
  const hello = { scorer: o.scorer, token: o.token, name: o.name, limits: { max_images: o.maxImages, max_image_bytes: o.maxImageBytes }, log: o.log };

  function onRequest(req: IncomingMessage, res: ServerResponse): void {
    if (status && (req.url === '/status' || req.url?.startsWith('/status?'))) return status.handle(req, res);
    if (req.url === '/healthz') {
      res.writeHead(scoring.closing ? 503 : 200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ ok: !scoring.closing, clients: peers.size, pending_images: scoring.pendingImages, model: o.scorer.model.name,
        model_digest: o.scorer.model.manifestSha256, untrained: o.scorer.model.untrained }));
      return;
    }
    res.writeHead(426, { 'content-type': 'application/json', upgrade: 'websocket' }).end(JSON.stringify({ error: 'connect with a websocket, or GET /healthz' }));
  }

  const transport = await openTransport({
    host: o.host, port: o.port, maxPayload: 2 * o.maxImageBytes + 1024, heartbeatMs: o.heartbeatMs, log: o.log, onRequest,
    onSocket(ws, address) {
      const peer = new Peer(ws, address, (p, code, message) => status?.activity.recordError(p.name ?? 'not yet authenticated', code, message));
      peers.add(peer);
      return {
        peer,
        message(data, isBinary) {
          if (isBinary) return peer.name ? scoring.frame(peer, data) : peer.fail('NOT_AUTHENTICATED', 'send hello first');
          const read = readTextFrame(data.toString('utf8'));
          if (!read.ok) {
            peer.fail(read.code, read.message, read.id);
            if (read.close) ws.close(...read.close);
            return;
          }
          const m = read.message;
          if (m.type === 'hello') return onHello(peer, m, hello);
          if (!peer.name) return peer.fail('NOT_AUTHENTICATED', 'send hello first', m.id);
          return scoring.request(peer, m);
        },
        close() {
          for (const id of [...peer.pending.keys()]) scoring.drop(peer, id);
          peers.delete(peer);
          if (peer.name) o.log({ level: 'info', msg: 'client left', client: peer.name });
        },
      };
    },
  });
  return {
    url: `ws://${o.host}:${transport.port}`,
    port: transport.port,
    server: transport.server,
    async close() {
      scoring.closing = true;
      await Promise.allSettled([...scoring.inScoring]);
      await transport.close(1001, 'bridge shutting down');
    },
  };
}
