import { randomUUID } from 'node:crypto';

import { WebSocket } from 'ws';

import { ComfyConnectionError, ComfyExecutionError, ComfyValidationError } from './errors.js';
import { parseComfyFrame } from './frames.js';

/** An API-format workflow: node id -> { class_type, inputs }. */
export type Workflow = Record<string, { class_type: string; inputs: Record<string, unknown>; _meta?: unknown }>;

export interface ComfyImage {
  /** The node that produced it (from the frame's metadata, the node executing at the time, or history). */
  nodeId: string | null;
  mime: string;
  bytes: Buffer;
  /** Where it was saved, for images fetched through /view. */
  file?: { filename: string; subfolder: string; type: string };
}

export interface PromptRun {
  promptId: string;
  images: ComfyImage[];
  outputs: Record<string, Record<string, unknown>>;
  seconds: number;
  /** Times the prompt was queued again because a restarted server had lost it. */
  resubmitted: number;
}

export interface ComfyEvent {
  type: string;
  data: Record<string, unknown>;
}

export interface ComfyClientOptions {
  /** Ping interval: ComfyUI sends no heartbeat, so a connection that stops answering pings is dropped and re-made (default 10 s). */
  heartbeatMs?: number;
  /** Reconnection: attempts before giving up, first delay and cap (default 8, 250 ms, 5 s). */
  reconnect?: { attempts?: number; baseMs?: number; capMs?: number };
  /** Times a prompt lost by a restarted server is queued again (default 2). */
  maxResubmits?: number;
  /** Timeout of each HTTP request (default 30 s). */
  requestTimeoutMs?: number;
  /** Every websocket event, for progress displays. */
  onEvent?: (event: ComfyEvent) => void;
}

interface Tracker {
  workflow: Workflow;
  images: ComfyImage[];
  executing: string | null;
  started: number;
  resubmits: number;
  resolve: (run: PromptRun) => void;
  reject: (e: Error) => void;
  finishing: boolean;
}

type HistoryEntry = { outputs?: Record<string, Record<string, unknown>>; status?: { status_str?: string; completed?: boolean; messages?: [string, Record<string, unknown>][] } };

/**
 * A client of ComfyUI's API: queues API-format workflows (POST /prompt with its client id), follows
 * them on the websocket (events and binary image frames, with preview metadata negotiated), and
 * collects their images from the frames and from /history + /view. ComfyUI sends no heartbeat, so the
 * client pings; a dead or dropped connection is re-made with capped backoff, after which every prompt
 * still awaited is re-synced from /history (and queued again if a restarted server lost it).
 */
export class ComfyClient {
  readonly clientId = randomUUID();
  private ws: WebSocket | null = null;
  private readonly trackers = new Map<string, Tracker>();
  private running: string | null = null;
  private heartbeat: NodeJS.Timeout | null = null;
  private closed = false;
  private reconnecting: Promise<void> | null = null;

  constructor(readonly baseUrl: string, private readonly o: ComfyClientOptions = {}) {
    this.baseUrl = baseUrl.replace(/\/+$/, '');
  }

  // ---- HTTP -------------------------------------------------------------------------------------

  private async request(path: string, init: RequestInit = {}): Promise<Response> {
    try {
      return await fetch(`${this.baseUrl}${path}`, { ...init, signal: AbortSignal.timeout(this.o.requestTimeoutMs ?? 30_000) });
    } catch (e) {
      throw new ComfyConnectionError(`ComfyUI at ${this.baseUrl}: ${path}: ${(e as Error).message}`);
    }
  }

  private async json<T>(path: string, init?: RequestInit): Promise<T> {
    const r = await this.request(path, init);
    if (!r.ok) throw new ComfyConnectionError(`ComfyUI at ${this.baseUrl}: ${path}: HTTP ${r.status}`);
    return (await r.json()) as T;
  }

  /** Queues a workflow; a refused one throws ComfyValidationError with every node's errors. */
  async queuePrompt(workflow: Workflow, promptId: string = randomUUID()): Promise<{ promptId: string; number: number }> {
    const r = await this.request('/prompt', { method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ prompt: workflow, client_id: this.clientId, prompt_id: promptId }) });
    const text = await r.text();
    let body: { prompt_id?: string; number?: number; error?: { type?: string; message?: string }; node_errors?: ConstructorParameters<typeof ComfyValidationError>[1] };
    try {
      body = JSON.parse(text) as typeof body;
    } catch {
      throw new ComfyConnectionError(`ComfyUI at ${this.baseUrl} answered /prompt with HTTP ${r.status}: ${text.slice(0, 200)}`);
    }
    if (!r.ok || !body.prompt_id) throw new ComfyValidationError(body.error ?? { message: `HTTP ${r.status}` }, body.node_errors ?? {});
    return { promptId: body.prompt_id, number: body.number ?? 0 };
  }

  async history(promptId: string): Promise<HistoryEntry | null> {
    const h = await this.json<Record<string, HistoryEntry>>(`/history/${encodeURIComponent(promptId)}`);
    return h[promptId] ?? null;
  }

  async queue(): Promise<{ running: string[]; pending: string[] }> {
    const q = await this.json<{ queue_running: unknown[][]; queue_pending: unknown[][] }>('/queue');
    return { running: q.queue_running.map((item) => String(item[1])), pending: q.queue_pending.map((item) => String(item[1])) };
  }

  async view(file: { filename: string; subfolder?: string; type?: string }): Promise<Buffer> {
    const q = new URLSearchParams({ filename: file.filename, subfolder: file.subfolder ?? '', type: file.type ?? 'output' });
    const r = await this.request(`/view?${q}`);
    if (!r.ok) throw new ComfyConnectionError(`ComfyUI at ${this.baseUrl}: /view ${file.filename}: HTTP ${r.status}`);
    return Buffer.from(await r.arrayBuffer());
  }

  /** Uploads an input image (POST /upload/image); returns the name to use in LoadImage. */
  async uploadImage(bytes: Uint8Array, filename: string, o: { subfolder?: string; overwrite?: boolean } = {}): Promise<{ name: string; subfolder: string; type: string }> {
    const form = new FormData();
    form.append('image', new Blob([bytes]), filename);
    if (o.subfolder) form.append('subfolder', o.subfolder);
    if (o.overwrite) form.append('overwrite', 'true');
    return this.json('/upload/image', { method: 'POST', body: form });
  }

  async interrupt(promptId?: string): Promise<void> {
    await this.request('/interrupt', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(promptId ? { prompt_id: promptId } : {}) });
  }

  // ---- websocket --------------------------------------------------------------------------------

  private connecting: Promise<void> | null = null;

  /** Opens the websocket; concurrent callers share one connection (ComfyUI keeps one socket per client id). */
  connect(): Promise<void> {
    if (this.ws?.readyState === WebSocket.OPEN) return Promise.resolve();
    this.connecting ??= this.open().finally(() => { this.connecting = null; });
    return this.connecting;
  }

  private async open(): Promise<void> {
    const url = `${this.baseUrl.replace(/^http/, 'ws')}/ws?clientId=${encodeURIComponent(this.clientId)}`;
    const ws = new WebSocket(url);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', (e) => reject(new ComfyConnectionError(`cannot open ${url}: ${e.message}`)));
    });
    this.ws = ws;
    ws.send(JSON.stringify({ type: 'feature_flags', data: { supports_preview_metadata: true } }));
    let alive = true;
    ws.on('pong', () => { alive = true; });
    ws.on('message', (data, isBinary) => this.onMessage(Buffer.isBuffer(data) ? data : Buffer.from(data as ArrayBuffer), isBinary));
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

  private reconnect(): Promise<void> {
    this.reconnecting ??= (async () => {
      const { attempts = 8, baseMs = 250, capMs = 5000 } = this.o.reconnect ?? {};
      let delay = baseMs;
      for (let i = 0; i < attempts && !this.closed; i++) {
        await new Promise((r) => setTimeout(r, delay));
        delay = Math.min(capMs, delay * 2);
        try {
          await this.connect();
          await this.resync();
          return;
        } catch {
          // try again
        }
      }
      const e = new ComfyConnectionError(`lost ComfyUI at ${this.baseUrl} and could not reconnect after ${attempts} attempts`);
      for (const [id, t] of this.trackers) {
        this.trackers.delete(id);
        t.reject(e);
      }
    })().finally(() => { this.reconnecting = null; });
    return this.reconnecting;
  }

  /** After a reconnect: finish prompts that ended meanwhile, keep waiting for queued ones, queue again those the server lost. */
  private async resync(): Promise<void> {
    const { running, pending } = await this.queue();
    for (const [id, t] of [...this.trackers]) {
      const entry = await this.history(id);
      if (entry?.status?.completed || entry?.status?.status_str === 'error') {
        void this.finish(id);
      } else if (!running.includes(id) && !pending.includes(id)) {
        this.trackers.delete(id);
        if (t.resubmits >= (this.o.maxResubmits ?? 2)) {
          t.reject(new ComfyConnectionError(`ComfyUI at ${this.baseUrl} lost prompt ${id} ${t.resubmits + 1} times`));
          continue;
        }
        t.resubmits++;
        t.images = [];
        const again = randomUUID();
        this.trackers.set(again, t);
        try {
          await this.queuePrompt(t.workflow, again);
        } catch (e) {
          this.trackers.delete(again);
          t.reject(e as Error);
        }
      }
    }
  }

  private onMessage(data: Buffer, isBinary: boolean): void {
    if (isBinary) {
      const frame = parseComfyFrame(data);
      if (frame?.kind !== 'image') return;
      const promptId = frame.promptId ?? this.running;
      const t = promptId ? this.trackers.get(promptId) : undefined;
      t?.images.push({ nodeId: frame.nodeId ?? t.executing, mime: frame.mime, bytes: Buffer.from(frame.image) });
      return;
    }
    let event: ComfyEvent;
    try {
      event = JSON.parse(data.toString('utf8')) as ComfyEvent;
    } catch {
      return;
    }
    this.o.onEvent?.(event);
    const d = event.data ?? {};
    const promptId = typeof d.prompt_id === 'string' ? d.prompt_id : null;
    const t = promptId ? this.trackers.get(promptId) : undefined;
    switch (event.type) {
      case 'execution_start':
        this.running = promptId;
        break;
      case 'executing':
        if (!t) break;
        if (d.node === null) void this.finish(promptId!);
        else t.executing = String(d.node);
        break;
      case 'execution_error':
        if (t) this.fail(promptId!, new ComfyExecutionError(promptId!, d.node_id as string, d.node_type as string, `${String(d.exception_type)}: ${String(d.exception_message).trim()}`));
        break;
      case 'execution_interrupted':
        if (t) this.fail(promptId!, new ComfyExecutionError(promptId!, (d.node_id as string) ?? null, (d.node_type as string) ?? null, 'interrupted', true));
        break;
      default:
    }
  }

  private fail(promptId: string, e: Error): void {
    const t = this.trackers.get(promptId);
    if (!t) return;
    this.trackers.delete(promptId);
    if (this.running === promptId) this.running = null;
    t.reject(e);
  }

  private async finish(promptId: string): Promise<void> {
    const t = this.trackers.get(promptId);
    if (!t || t.finishing) return;
    t.finishing = true;
    if (this.running === promptId) this.running = null;
    try {
      const entry = await this.history(promptId);
      const outputs = entry?.outputs ?? {};
      if (entry?.status?.status_str === 'error') {
        const err = entry.status.messages?.find(([type]) => type === 'execution_error' || type === 'execution_interrupted');
        const data = err?.[1] ?? {};
        throw new ComfyExecutionError(promptId, (data.node_id as string) ?? null, (data.node_type as string) ?? null, String(data.exception_message ?? 'failed').trim(), err?.[0] === 'execution_interrupted');
      }
      const fromFrames = new Set(t.images.map((im) => im.nodeId));
      for (const [nodeId, out] of Object.entries(outputs)) {
        if (fromFrames.has(nodeId)) continue;
        for (const file of (out.images as { filename: string; subfolder: string; type: string }[] | undefined) ?? []) {
          if (file.type !== 'output') continue;
          t.images.push({ nodeId, mime: file.filename.endsWith('.png') ? 'image/png' : 'application/octet-stream', bytes: await this.view(file), file });
        }
      }
      this.trackers.delete(promptId);
      t.resolve({ promptId, images: t.images, outputs, seconds: (performance.now() - t.started) / 1000, resubmitted: t.resubmits });
    } catch (e) {
      this.trackers.delete(promptId);
      t.reject(e as Error);
    }
  }

  /** Queues a workflow and resolves when it has run, with its images; rejects with ComfyExecutionError if a node fails. */
  async run(workflow: Workflow): Promise<PromptRun> {
    await this.connect();
    // The prompt id is chosen here (ComfyUI takes it verbatim) so its events are recognised from the first one.
    const promptId = randomUUID();
    const done = new Promise<PromptRun>((resolve, reject) => {
      this.trackers.set(promptId, { workflow, images: [], executing: null, started: performance.now(), resubmits: 0, resolve, reject, finishing: false });
    });
    try {
      await this.queuePrompt(workflow, promptId);
    } catch (e) {
      this.trackers.delete(promptId);
      throw e;
    }
    return done;
  }

  /** Prompts queued or running on this server (for least-busy dispatch). */
  async load(): Promise<number> {
    const q = await this.queue();
    return q.running.length + q.pending.length;
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.ws?.close();
    this.ws = null;
  }
}
