import { WebSocket } from 'ws';

import { ComfyConnectionError } from './errors.js';

export interface ReconnectPolicy {
  /** How long to keep trying after a drop before giving up (default 120 s: a ComfyUI restart with custom nodes takes 20-60 s). */
  timeoutMs?: number;
  /** First delay and cap of the exponential backoff (default 250 ms, 5 s). */
  baseMs?: number;
  capMs?: number;
  /** Longest wait for one websocket handshake: a frozen server accepts connections but never answers (default 10 s). */
  handshakeMs?: number;
}

/** The waits before each reconnection attempt: doubling from baseMs up to capMs, until timeoutMs is spent. */
export function reconnectDelays(policy: ReconnectPolicy = {}): number[] {
  const { timeoutMs = 120_000, baseMs = 250, capMs = 5000 } = policy;
  const delays: number[] = [];
  let total = 0;
  for (let delay = Math.max(1, baseMs); total + delay <= timeoutMs; delay = Math.min(capMs, delay * 2)) {
    delays.push(delay);
    total += delay;
  }
  return delays;
}

export interface ComfySocketOptions {
  /** The server, as messages name it. */
  server: string;
  /** Ping interval: ComfyUI sends no heartbeat, so a connection that stops answering pings is dropped and re-made (default 10 s). */
  heartbeatMs?: number;
  reconnect?: ReconnectPolicy;
  onMessage: (data: Buffer, isBinary: boolean) => void;
  /** Called when the connection drops (before reconnecting) and whenever one opens. */
  onDrop?: () => void;
  onOpen?: () => void;
  /** Called after each successful reconnection; a rejection counts as a failed attempt. */
  onReconnected: () => Promise<void>;
  /** Called once reconnection is given up, with why. */
  onLost: (reason: string) => void;
}

/**
 * ComfyUI's websocket for one client id: opened once and shared, announced as supporting preview
 * metadata, kept alive by pings, and re-made with capped backoff when it drops.
 */
export class ComfySocket {
  private ws: WebSocket | null = null;
  private heartbeat: NodeJS.Timeout | null = null;
  private closed = false;
  private connecting: Promise<void> | null = null;
  private reconnecting: Promise<string | null> | null = null;
  /** Why the last reconnection gave up, until a connection opens again. */
  private gaveUp: string | null = null;

  constructor(private readonly url: string, private readonly o: ComfySocketOptions) {}

  /** Opens the websocket; concurrent callers share one connection (ComfyUI keeps one socket per client id). */
  async connect(): Promise<void> {
    if (this.ws?.readyState === WebSocket.OPEN) return;
    // While reconnecting after a drop, wait for its outcome rather than failing on the first refusal.
    const failure = this.reconnecting ? await this.reconnecting : null;
    if (failure) throw new ComfyConnectionError(`lost ${this.o.server} and ${failure}`);
    try {
      return await this.openShared();
    } catch (e) {
      // A server given up on after a drop is still reported as lost, whenever the next request comes.
      throw this.gaveUp ? new ComfyConnectionError(`lost ${this.o.server} and ${this.gaveUp}`) : e;
    }
  }

  /**
   * After a request failed for want of a connection: wait for the reconnection (started here if the socket
   * has not noticed the loss yet); throws if it gives up.
   */
  async recover(): Promise<void> {
    const ws = this.ws;
    if (!this.reconnecting && ws && ws.readyState !== WebSocket.CLOSED) {
      await new Promise((resolve) => {
        ws.once('close', resolve);
        ws.terminate();
      });
    }
    if (!this.reconnecting && !this.closed) void this.reconnect();
    await this.connect();
  }

  private openShared(): Promise<void> {
    if (this.ws?.readyState === WebSocket.OPEN) return Promise.resolve();
    this.connecting ??= this.open().finally(() => { this.connecting = null; });
    return this.connecting;
  }

  private async open(): Promise<void> {
    const ws = new WebSocket(this.url, { handshakeTimeout: this.o.reconnect?.handshakeMs ?? 10_000 });
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', (e) => reject(new ComfyConnectionError(`cannot open the websocket of ${this.o.server} (${this.url}): ${e.message}`)));
    });
    this.o.onOpen?.();
    this.ws = ws;
    this.gaveUp = null;
    ws.send(JSON.stringify({ type: 'feature_flags', data: { supports_preview_metadata: true } }));
    let alive = true;
    ws.on('pong', () => { alive = true; });
    ws.on('message', (data, isBinary) => this.o.onMessage(Buffer.isBuffer(data) ? data : Buffer.from(data as ArrayBuffer), isBinary));
    ws.on('close', () => {
      if (this.ws === ws) this.ws = null;
      if (!this.closed) void this.reconnect();
    });
    ws.on('error', () => undefined);
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = setInterval(() => {
      if (!alive) {
        ws.terminate();
        return;
      }
      alive = false;
      ws.ping();
    }, this.o.heartbeatMs ?? 10_000);
    this.heartbeat.unref();
  }

  /** Resolves to null once reconnected, or to why it gave up. */
  private reconnect(): Promise<string | null> {
    this.reconnecting ??= (async () => {
      this.o.onDrop?.();
      const started = performance.now();
      const deadline = started + (this.o.reconnect?.timeoutMs ?? 120_000);
      for (const delay of reconnectDelays(this.o.reconnect)) {
        if (this.closed) return 'the client was closed';
        await new Promise((r) => setTimeout(r, delay));
        if (this.closed || performance.now() > deadline) break;
        try {
          await this.openShared();
          await this.o.onReconnected();
          return null;
        } catch {
          // try again
        }
      }
      const reason = `could not reconnect within ${((performance.now() - started) / 1000).toFixed(1)} s (raise the reconnect timeout if it restarts slowly)`;
      this.gaveUp = reason;
      if (!this.closed) this.o.onLost(reason);
      return reason;
    })().finally(() => { this.reconnecting = null; });
    return this.reconnecting;
  }

  close(): void {
    this.closed = true;
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.ws?.close();
    this.ws = null;
  }
}
