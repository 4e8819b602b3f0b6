import { randomUUID } from 'node:crypto';

import { ComfyConnectionError, ComfyValidationError } from './errors.js';
import { toJson } from './seeds.js';

/** An API-format workflow: node id -> { class_type, inputs }. */
export type Workflow = Record<string, { class_type: string; inputs: Record<string, unknown>; _meta?: unknown }>;

export type HistoryEntry = {
  outputs?: Record<string, Record<string, unknown>>;
  status?: { status_str?: string; completed?: boolean; messages?: [string, Record<string, unknown>][] };
};

/** A file ComfyUI saved, as /history lists it and /view serves it. */
export interface ComfyFileRef {
  filename: string;
  subfolder: string;
  type: string;
}

/** ComfyUI's HTTP routes: /prompt, /history, /queue, /view, /upload/image, /interrupt. */
export class ComfyHttp {
  readonly baseUrl: string;

  constructor(baseUrl: string, private readonly clientId: string, private readonly timeoutMs = 30_000) {
    this.baseUrl = baseUrl.replace(/\/+$/, '');
  }

  private async request(path: string, init: RequestInit = {}): Promise<Response> {
    try {
      return await fetch(`${this.baseUrl}${path}`, { ...init, signal: AbortSignal.timeout(this.timeoutMs) });
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
      body: toJson({ prompt: workflow, client_id: this.clientId, prompt_id: promptId }) });
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

  /** Removes prompts from the pending queue (POST /queue {delete}); a running prompt is not touched. */
  async deleteQueued(promptIds: string[]): Promise<void> {
    const r = await this.request('/queue', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ delete: promptIds }) });
    if (!r.ok) throw new ComfyConnectionError(`ComfyUI at ${this.baseUrl}: /queue delete: HTTP ${r.status}`);
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
}
