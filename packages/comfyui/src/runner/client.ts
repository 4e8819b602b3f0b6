import { randomUUID } from 'node:crypto';

import { ComfyConnectionError } from './errors.js';
import { ComfyHttp, type HistoryEntry, type Workflow } from './http.js';
import { PromptTracker, type ComfyEvent, type PromptRun } from './prompts.js';
import { ComfySocket, type ReconnectPolicy } from './socket.js';

export type { Workflow } from './http.js';
export type { ComfyEvent, ComfyImage, PromptRun } from './prompts.js';

export interface ComfyClientOptions {
  /** Ping interval: ComfyUI sends no heartbeat, so a connection that stops answering pings is dropped and re-made (default 10 s). */
  heartbeatMs?: number;
  /** Reconnection after a drop: how long to keep trying, first delay and cap of the backoff (default 120 s, 250 ms, 5 s). */
  reconnect?: ReconnectPolicy;
  /** Fail awaited prompts when a connected server sends nothing for this long (default 300 s; 0: never). */
  stallTimeoutMs?: number;
  /** Times a prompt lost by a restarted server is queued again (default 2). */
  maxResubmits?: number;
  /** Timeout of each HTTP request (default 30 s). */
  requestTimeoutMs?: number;
  /** Every websocket event, for progress displays. */
  onEvent?: (event: ComfyEvent) => void;
}

/** A promise rejected on demand, never an unhandled rejection when nobody waits on it. */
function rejectable(): { promise: Promise<never>; reject: (e: Error) => void } {
  let reject!: (e: Error) => void;
  const promise = new Promise<never>((_, r) => { reject = r; });
  promise.catch(() => undefined);
  return { promise, reject };
}

/**
 * A client of ComfyUI's API: queues API-format workflows (POST /prompt with its client id), follows
 * them on the websocket (events and binary image frames, with preview metadata negotiated), and
 * collects their images from the frames and from /history + /view. ComfyUI sends no heartbeat, so the
 * client pings; a dead or dropped connection is re-made with capped backoff, after which every prompt
 * still awaited is re-synced from /history (and queued again if a restarted server lost it).
 */
export class ComfyClient {
  readonly clientId = randomUUID();
  readonly baseUrl: string;
  private readonly http: ComfyHttp;
  private readonly prompts: PromptTracker;
  private readonly socket: ComfySocket;
  private readonly connectionListeners = new Set<(open: boolean) => void>();
  /** Rejected by abandon(): a run waiting for this server to come back stops waiting. */
  private abandoned = rejectable();

  constructor(baseUrl: string, o: ComfyClientOptions = {}) {
    this.http = new ComfyHttp(baseUrl, this.clientId, o.requestTimeoutMs);
    this.baseUrl = this.http.baseUrl;
    this.prompts = new PromptTracker(this.http, {
      ...(o.maxResubmits !== undefined ? { maxResubmits: o.maxResubmits } : {}),
      ...(o.stallTimeoutMs !== undefined ? { stallTimeoutMs: o.stallTimeoutMs } : {}),
      ...(o.onEvent ? { onEvent: o.onEvent } : {}),
    });
    this.socket = new ComfySocket(`${this.baseUrl.replace(/^http/, 'ws')}/ws?clientId=${encodeURIComponent(this.clientId)}`, {
      server: `ComfyUI at ${this.baseUrl}`,
      ...(o.heartbeatMs !== undefined ? { heartbeatMs: o.heartbeatMs } : {}),
      ...(o.reconnect ? { reconnect: o.reconnect } : {}),
      onMessage: (data, isBinary) => this.prompts.onMessage(data, isBinary),
      onOpen: () => this.connectionChanged(true),
      onDrop: () => this.connectionChanged(false),
      onReconnected: () => this.prompts.resync(),
      onLost: (reason) => this.prompts.failAll(new ComfyConnectionError(`lost ComfyUI at ${this.baseUrl} and ${reason}`)),
    });
  }

  private connectionChanged(open: boolean): void {
    this.prompts.connectionChanged(open);
    for (const listener of this.connectionListeners) listener(open);
  }

  /** Calls listener(false) when the websocket drops and listener(true) whenever one opens; returns the unsubscribe. */
  watchConnection(listener: (open: boolean) => void): () => void {
    this.connectionListeners.add(listener);
    return () => this.connectionListeners.delete(listener);
  }

  /** The prompts this client awaits now. */
  ownPrompts(): string[] {
    return this.prompts.ids();
  }

  /**
   * Stops waiting for this server: every awaited prompt, and every run waiting for the server to come back,
   * rejects with error (a pool then runs them elsewhere). The connection keeps trying to come back.
   */
  abandon(error: ComfyConnectionError): void {
    this.prompts.failAll(error);
    this.abandoned.reject(error);
    this.abandoned = rejectable();
  }

  /**
   * Takes this client's prompts off the server: deletes those still pending from its queue and interrupts
   * the one running only when it is one of them (another user's prompt keeps running). Returns what it did.
   */
  async cancelOwn(): Promise<{ deleted: string[]; interrupted: string[] }> {
    const own = new Set(this.prompts.ids());
    if (own.size === 0) return { deleted: [], interrupted: [] };
    const { running, pending } = await this.http.queue();
    const deleted = pending.filter((id) => own.has(id));
    const interrupted = running.filter((id) => own.has(id));
    if (deleted.length) await this.http.deleteQueued(deleted);
    for (const id of interrupted) await this.http.interrupt(id);
    return { deleted, interrupted };
  }

  /** Queues a workflow; a refused one throws ComfyValidationError with every node's errors. */
  queuePrompt(workflow: Workflow, promptId?: string): Promise<{ promptId: string; number: number }> {
    return this.http.queuePrompt(workflow, promptId);
  }

  history(promptId: string): Promise<HistoryEntry | null> {
    return this.http.history(promptId);
  }

  queue(): Promise<{ running: string[]; pending: string[] }> {
    return this.http.queue();
  }

  view(file: { filename: string; subfolder?: string; type?: string }): Promise<Buffer> {
    return this.http.view(file);
  }

  /** Uploads an input image (POST /upload/image); returns the name to use in LoadImage. */
  uploadImage(bytes: Uint8Array, filename: string, o: { subfolder?: string; overwrite?: boolean } = {}): Promise<{ name: string; subfolder: string; type: string }> {
    return this.http.uploadImage(bytes, filename, o);
  }

  interrupt(promptId?: string): Promise<void> {
    return this.http.interrupt(promptId);
  }

  /** Opens the websocket; concurrent callers share one connection (ComfyUI keeps one socket per client id). */
  connect(): Promise<void> {
    return this.socket.connect();
  }

  /** Queues a workflow and resolves when it has run, with its images; rejects with ComfyExecutionError if a node fails. */
  async run(workflow: Workflow): Promise<PromptRun> {
    await this.connect();
    // The prompt id is chosen here (ComfyUI takes it verbatim) so its events are recognised from the first one.
    const promptId = randomUUID();
    for (;;) {
      const done = this.prompts.track(promptId, workflow);
      try {
        await this.http.queuePrompt(workflow, promptId);
        return done;
      } catch (e) {
        this.prompts.untrack(promptId);
        if (!(e instanceof ComfyConnectionError)) throw e;
      }
      // ComfyUI went away between prompts (a restart): queue again once it is back, within the reconnect window.
      await Promise.race([this.socket.recover(), this.abandoned.promise]);
    }
  }

  /** Prompts queued or running on this server (for least-busy dispatch). */
  async load(): Promise<number> {
    const q = await this.queue();
    return q.running.length + q.pending.length;
  }

  async close(): Promise<void> {
    this.prompts.stop();
    this.socket.close();
  }
}
