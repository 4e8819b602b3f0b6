import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import { isClipAgiqaError, isUsageError, type Scorer } from '@clip-agiqa/core';
import { compileSchema, constantTimeEqual, jsonLineLog } from '@clip-agiqa/core/internal';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';

import { bridgeClientMessageSchema, type BridgeClientMessage, type BridgeScoreRequest } from '../generated/bridge-client-message.js';
import { bridgeServerMessageSchema, type BridgeServerMessage } from '../generated/bridge-server-message.js';
import { checkPolicy, decide } from './decision.js';
import { decodeImageFrame, FrameError } from './frames.js';
import { listen } from './listen.js';
import { bridgeStatus } from './status.js';

export const BRIDGE_PROTOCOL = 1;
const validateClient = compileSchema<BridgeClientMessage>(bridgeClientMessageSchema);
const validateServer = compileSchema<BridgeServerMessage>(bridgeServerMessageSchema);

export interface BridgeOptions {
  scorer: Scorer;
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  /** Shared secret clients present in hello; without it any local client may connect. */
  token?: string;
  /** Images one request may carry (default 256). */
  maxImages?: number;
  /** Bytes one image frame may carry (default 64 MiB). */
  maxImageBytes?: number;
  /** Images accepted but not yet answered, over all clients; beyond, requests get `busy` (default 512). */
  maxPendingImages?: number;
  /** Ping interval; a peer that misses a pong by the next ping is dropped (default 15 s). */
  heartbeatMs?: number;
  /** How long a request may wait for its image frames (default 30 s). */
  frameTimeoutMs?: number;
  log?: (line: Record<string, unknown>) => void;
  name?: string;
  /**
   * Serve a read-only HTML status page at GET /status (default off): queue, throughput, recent verdicts
   * with thumbnails, errors. It asks for `token`; without one it is served on a loopback host only.
   */
  statusPage?: boolean;
}

export interface Bridge {
  readonly url: string;
  readonly port: number;
  readonly server: Server;
  /** Stops accepting, answers the requests whose images are all here, then closes every socket (1001). */
  close(): Promise<void>;
}

interface Pending {
  request: BridgeScoreRequest;
  frames: (Buffer | undefined)[];
  received: number;
  timer: NodeJS.Timeout;
}

interface Client {
  ws: WebSocket;
  /** The peer's address, for the log. */
  address: string;
  name: string | null;
  alive: boolean;
  pending: Map<string, Pending>;
}


/**
 * The websocket bridge in front of one scorer: ComfyUI nodes (or any client) send score requests with
 * their images as binary frames; requests of all clients meet in the scorer's micro-batcher. In-flight
 * images are bounded over all clients (a `busy` reply beyond), dead peers are dropped by heartbeat, and
 * every bad message gets a typed `error` without harming other requests or clients.
 */
export async function startBridge(o: BridgeOptions): Promise<Bridge> {
  const maxImages = o.maxImages ?? 256;
  const maxImageBytes = o.maxImageBytes ?? 64 << 20;
  const maxPending = o.maxPendingImages ?? 512;
  const log = o.log ?? jsonLineLog();
  const clients = new Set<Client>();
  const scoring = new Set<Promise<void>>();
  let pendingImages = 0;
  let closing = false;
  const status = o.statusPage ? bridgeStatus({
    scorer: o.scorer, host: o.host ?? '127.0.0.1', token: o.token,
    gauges: () => [['clients', clients.size], ['images waiting or in scoring', pendingImages], ['requests in scoring', scoring.size]],
  }) : null;

  const http = createServer((req, res) => {
    if (status && (req.url === '/status' || req.url?.startsWith('/status?'))) return status.handle(req, res);
    if (req.url === '/healthz') {
      res.writeHead(closing ? 503 : 200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ ok: !closing, clients: clients.size, pending_images: pendingImages, model: o.scorer.model.name,
        model_digest: o.scorer.model.manifestSha256, untrained: o.scorer.model.untrained }));
      return;
    }
    res.writeHead(426, { 'content-type': 'application/json', upgrade: 'websocket' }).end(JSON.stringify({ error: 'connect with a websocket, or GET /healthz' }));
  });
  const wss = new WebSocketServer({ server: http, maxPayload: 2 * maxImageBytes + 1024 });
  // ws re-emits the HTTP server's errors; one while starting to listen is reported by listen() instead.
  let listening = false;
  wss.on('error', (e) => { if (listening) log({ level: 'error', msg: 'server error', error: e.message }); });

  function send(c: Client, message: BridgeServerMessage): void {
    const checked = validateServer(message);
    if (!checked.ok) throw new Error(`bridge reply violates its schema: ${checked.errors.join('; ')}`);
    if (c.ws.readyState === c.ws.OPEN) c.ws.send(JSON.stringify(message));
  }
  const fail = (c: Client, code: string, message: string, id?: string) => {
    status?.activity.recordError(c.name ?? 'not yet authenticated', code, message);
    send(c, { type: 'error', code, message, ...(id ? { id } : {}) });
  };

  function drop(c: Client, id: string): void {
    const p = c.pending.get(id);
    if (!p) return;
    clearTimeout(p.timer);
    c.pending.delete(id);
    pendingImages -= p.request.images.length;
  }

  function onHello(c: Client, m: Extract<BridgeClientMessage, { type: 'hello' }>): void {
    if (o.token && !(m.token && constantTimeEqual(m.token, o.token))) {
      log({ level: 'warn', msg: `refused a client: ${m.token ? 'wrong' : 'missing'} token`, client: m.client, address: c.address });
      fail(c, 'UNAUTHORIZED', 'wrong or missing token');
      c.ws.close(4001, 'unauthorized');
      return;
    }
    c.name = m.client;
    const model = o.scorer.model;
    send(c, {
      type: 'welcome', protocol: BRIDGE_PROTOCOL, server: o.name ?? 'clip-agiqa-bridge',
      model: { name: model.name, untrained: model.untrained, digest: model.manifestSha256, heads: model.heads.map((h) => ({ name: h.name, score_range: [h.scoreRange[0], h.scoreRange[1]], higher_is_better: h.higherIsBetter })) },
      limits: { max_images: maxImages, max_image_bytes: maxImageBytes },
    });
    log({ level: 'info', msg: 'client connected', client: m.client });
  }

  function onScore(c: Client, m: BridgeScoreRequest): void {
    if (c.pending.has(m.id)) return fail(c, 'DUPLICATE_ID', `request ${m.id} is already in progress`, m.id);
    if (m.images.length > maxImages) return fail(c, 'TOO_MANY_IMAGES', `${m.images.length} images; at most ${maxImages} per request`, m.id);
    const badSpec = m.images.findIndex((im) => (im.format === 'rgb') !== (im.width !== undefined && im.height !== undefined));
    if (badSpec >= 0) return fail(c, 'BAD_REQUEST', `image ${badSpec}: rgb images need width and height, encoded ones have neither`, m.id);
    try {
      checkPolicy(m.policy, o.scorer.model);
    } catch (e) {
      if (!isUsageError(e)) throw e;
      return fail(c, e.code, e.message, m.id);
    }
    if (closing) return send(c, { type: 'busy', id: m.id, retry_after_ms: 2000 });
    if (pendingImages + m.images.length > maxPending) return send(c, { type: 'busy', id: m.id, retry_after_ms: 250 });
    pendingImages += m.images.length;
    const timer = setTimeout(() => {
      drop(c, m.id);
      fail(c, 'FRAMES_MISSING', `request ${m.id}: its images did not all arrive within ${o.frameTimeoutMs ?? 30_000} ms`, m.id);
    }, o.frameTimeoutMs ?? 30_000);
    c.pending.set(m.id, { request: m, frames: new Array<Buffer | undefined>(m.images.length), received: 0, timer });
  }

  function onFrame(c: Client, data: Buffer): void {
    let frame: ReturnType<typeof decodeImageFrame>;
    try {
      frame = decodeImageFrame(data);
    } catch (e) {
      return fail(c, 'BAD_FRAME', (e as FrameError).message);
    }
    const p = c.pending.get(frame.requestId);
    if (!p) return fail(c, 'UNKNOWN_REQUEST', `a binary frame names request ${frame.requestId.slice(0, 128)}, which is not waiting for images`);
    const id = frame.requestId;
    if (frame.index >= p.frames.length || p.frames[frame.index]) {
      drop(c, id);
      return fail(c, 'BAD_FRAME', `request ${id}: image index ${frame.index} is out of range or sent twice`, id);
    }
    if (frame.image.length > maxImageBytes) {
      drop(c, id);
      return fail(c, 'IMAGE_TOO_LARGE', `request ${id}: image ${frame.index} has ${frame.image.length} bytes; the limit is ${maxImageBytes}`, id);
    }
    p.frames[frame.index] = frame.image;
    if (++p.received === p.frames.length) {
      clearTimeout(p.timer);
      c.pending.delete(id);
      const job = answer(c, p.request, p.frames as Buffer[]).finally(() => {
        pendingImages -= p.request.images.length;
        scoring.delete(job);
      });
      scoring.add(job);
    }
  }

  async function answer(c: Client, request: BridgeScoreRequest, frames: Buffer[]): Promise<void> {
    // Raw pixels whose length does not fit their shape come back from the scorer as INVALID_PIXELS failures.
    const inputs = request.images.map((spec, i) => ({
      id: String(i),
      image: spec.format === 'rgb' ? { data: frames[i]!, width: spec.width!, height: spec.height!, channels: 3 as const } : frames[i]!,
    }));
    try {
      const outcomes = await o.scorer.score(inputs);
      const decision = decide(request.policy, outcomes, o.scorer.model);
      send(c, {
        type: 'result', id: request.id,
        scores: outcomes.map((s, index) => ('scores' in s ? { index, scores: s.scores } : { index, error: { code: s.error.code, message: s.error.message } })),
        decision,
      });
      status?.recordResult(c.name ?? '', request.id, request.policy, outcomes.map((s) => ('scores' in s ? s.scores[decision.head]! : null)), decision,
        inputs.map((i) => i.image));
    } catch (e) {
      fail(c, isClipAgiqaError(e) ? e.code : 'INTERNAL', (e as Error).message, request.id);
      if (!isClipAgiqaError(e)) log({ level: 'error', msg: 'scoring failed', error: (e as Error).stack });
    }
  }

  wss.on('connection', (ws, req) => {
    const c: Client = { ws, address: req.socket.remoteAddress ?? 'unknown', name: null, alive: true, pending: new Map() };
    clients.add(c);
    ws.on('pong', () => { c.alive = true; });
    ws.on('message', (data: RawData, isBinary: boolean) => {
      const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as Buffer);
      if (isBinary) {
        if (!c.name) return fail(c, 'NOT_AUTHENTICATED', 'send hello first');
        return onFrame(c, buf);
      }
      let message: unknown;
      try {
        message = JSON.parse(buf.toString('utf8'));
      } catch {
        return fail(c, 'MALFORMED_MESSAGE', 'a text frame is not JSON');
      }
      const raw = message as { type?: unknown; protocol?: unknown; id?: unknown };
      if (raw?.type === 'hello' && raw.protocol !== BRIDGE_PROTOCOL) {
        fail(c, 'UNSUPPORTED_PROTOCOL', `this bridge speaks protocol ${BRIDGE_PROTOCOL}, not ${String(raw.protocol)}`);
        ws.close(4002, 'unsupported protocol');
        return;
      }
      const checked = validateClient(message);
      if (!checked.ok) return fail(c, 'SCHEMA_VIOLATION', checked.errors.slice(0, 5).join('; '), typeof raw?.id === 'string' ? raw.id.slice(0, 128) : undefined);
      const m = checked.value;
      if (m.type === 'hello') return onHello(c, m);
      if (!c.name) return fail(c, 'NOT_AUTHENTICATED', 'send hello first', m.id);
      return onScore(c, m);
    });
    ws.on('close', () => {
      for (const id of [...c.pending.keys()]) drop(c, id);
      clients.delete(c);
      if (c.name) log({ level: 'info', msg: 'client left', client: c.name });
    });
    ws.on('error', (e) => log({ level: 'warn', msg: 'socket error', client: c.name, error: e.message }));
  });

  const heartbeat = setInterval(() => {
    for (const c of clients) {
      if (!c.alive) {
        log({ level: 'warn', msg: 'dropping an unresponsive peer', client: c.name });
        c.ws.terminate();
        continue;
      }
      c.alive = false;
      c.ws.ping();
    }
  }, o.heartbeatMs ?? 15_000);
  heartbeat.unref();

  try {
    await listen(http, o.port ?? 8790, o.host ?? '127.0.0.1');
    listening = true;
  } catch (e) {
    clearInterval(heartbeat);
    wss.close();
    throw e;
  }
  const { port } = http.address() as AddressInfo;
  return {
    url: `ws://${o.host ?? '127.0.0.1'}:${port}`,
    port,
    server: http,
    async close() {
      closing = true;
      clearInterval(heartbeat);
      await Promise.allSettled([...scoring]);
      for (const c of clients) c.ws.close(1001, 'bridge shutting down');
      await new Promise<void>((resolve) => { wss.close(() => resolve()); });
      await new Promise<void>((resolve) => { http.close(() => resolve()); http.closeAllConnections(); });
    },
  };
}
