import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

import { WebSocketServer, type RawData, type WebSocket } from 'ws';

import { listen } from './listen.js';

export interface TransportOptions {
  host: string;
  port: number;
  /** Largest websocket message accepted. */
  maxPayload: number;
  heartbeatMs: number;
  log: (line: Record<string, unknown>) => void;
  /** Plain HTTP requests (health, status page). */
  onRequest(req: IncomingMessage, res: ServerResponse): void;
  /** A websocket opened: returns its handlers. */
  onSocket(ws: WebSocket, address: string): SocketHandlers;
}

export interface SocketHandlers {
  message(data: Buffer, isBinary: boolean): void;
  close(): void;
  /** Marks the peer alive on a pong; the heartbeat drops one that stays silent for a whole interval. */
  readonly peer: { alive: boolean; name: string | null; ws: WebSocket };
}

export interface Transport {
  readonly server: Server;
  readonly port: number;
  /** Stops the heartbeat, closes every socket with `code` and the servers. */
  close(code: number, reason: string): Promise<void>;
}

/** The HTTP server and its websocket endpoint, with a heartbeat that drops peers that stopped answering pings. */
export async function openTransport(o: TransportOptions): Promise<Transport> {
  const http = createServer(o.onRequest);
  const wss = new WebSocketServer({ server: http, maxPayload: o.maxPayload });
  const peers = new Set<SocketHandlers['peer']>();
  // ws re-emits the HTTP server's errors; one while starting to listen is reported by listen() instead.
  let listening = false;
  wss.on('error', (e) => { if (listening) o.log({ level: 'error', msg: 'server error', error: e.message }); });
  wss.on('connection', (ws, req) => {
    const handlers = o.onSocket(ws, req.socket.remoteAddress ?? 'unknown');
    peers.add(handlers.peer);
    ws.on('pong', () => { handlers.peer.alive = true; });
    ws.on('message', (data: RawData, isBinary: boolean) => handlers.message(Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as Buffer), isBinary));
    ws.on('close', () => {
      peers.delete(handlers.peer);
      handlers.close();
    });
    ws.on('error', (e) => o.log({ level: 'warn', msg: 'socket error', client: handlers.peer.name, error: e.message }));
  });
  const heartbeat = setInterval(() => {
    for (const peer of peers) {
      if (!peer.alive) {
        o.log({ level: 'warn', msg: 'dropping an unresponsive peer', client: peer.name });
        peer.ws.terminate();
        continue;
      }
      peer.alive = false;
      peer.ws.ping();
    }
  }, o.heartbeatMs);
  heartbeat.unref();

  try {
    await listen(http, o.port, o.host);
    listening = true;
  } catch (e) {
    clearInterval(heartbeat);
    wss.close();
    throw e;
  }
  return {
    server: http,
    port: (http.address() as AddressInfo).port,
    async close(code, reason) {
      clearInterval(heartbeat);
      for (const peer of peers) peer.ws.close(code, reason);
      await new Promise<void>((resolve) => { wss.close(() => resolve()); });
      await new Promise<void>((resolve) => { http.close(() => resolve()); http.closeAllConnections(); });
    },
  };
}
