import { randomUUID } from 'node:crypto';

import { ComfyConnectionError, ComfyExecutionError } from './errors.js';
import { parseComfyFrame } from './frames.js';
import type { ComfyFileRef, ComfyHttp, Workflow } from './http.js';

export interface ComfyImage {
  /** The node that produced it (from the frame's metadata, the node executing at the time, or history). */
  nodeId: string | null;
  mime: string;
  bytes: Buffer;
  /** Where it was saved, for images fetched through /view. */
  file?: ComfyFileRef;
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

/**
 * The prompts this client awaits: routes websocket events and image frames to them, finishes each
 * from /history (adding saved images not seen as frames), and after a reconnect re-syncs them:
 * finished meanwhile, still queued, or lost by a restarted server and queued again.
 */
export class PromptTracker {
  private readonly trackers = new Map<string, Tracker>();
  private running: string | null = null;

  constructor(private readonly http: ComfyHttp, private readonly o: { maxResubmits?: number; onEvent?: (event: ComfyEvent) => void } = {}) {}

  /** Starts awaiting a prompt (before it is queued, so its first events are recognised). */
  track(promptId: string, workflow: Workflow): Promise<PromptRun> {
    return new Promise<PromptRun>((resolve, reject) => {
      this.trackers.set(promptId, { workflow, images: [], executing: null, started: performance.now(), resubmits: 0, resolve, reject, finishing: false });
    });
  }

  untrack(promptId: string): void {
    this.trackers.delete(promptId);
  }

  /** Rejects every prompt still awaited. */
  failAll(e: Error): void {
    for (const [id, t] of this.trackers) {
      this.trackers.delete(id);
      t.reject(e);
    }
  }

  /** After a reconnect: finish prompts that ended meanwhile, keep waiting for queued ones, queue again those the server lost. */
  async resync(): Promise<void> {
    const { running, pending } = await this.http.queue();
    for (const [id, t] of [...this.trackers]) {
      const entry = await this.http.history(id);
      if (entry?.status?.completed || entry?.status?.status_str === 'error') {
        void this.finish(id);
      } else if (!running.includes(id) && !pending.includes(id)) {
        this.trackers.delete(id);
        if (t.resubmits >= (this.o.maxResubmits ?? 2)) {
          t.reject(new ComfyConnectionError(`ComfyUI at ${this.http.baseUrl} lost prompt ${id} ${t.resubmits + 1} times`));
          continue;
        }
        t.resubmits++;
        t.images = [];
        const again = randomUUID();
        this.trackers.set(again, t);
        try {
          await this.http.queuePrompt(t.workflow, again);
        } catch (e) {
          this.trackers.delete(again);
          t.reject(e as Error);
        }
      }
    }
  }

  onMessage(data: Buffer, isBinary: boolean): void {
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
      const entry = await this.http.history(promptId);
      const outputs = entry?.outputs ?? {};
      if (entry?.status?.status_str === 'error') {
        const err = entry.status.messages?.find(([type]) => type === 'execution_error' || type === 'execution_interrupted');
        const data = err?.[1] ?? {};
        throw new ComfyExecutionError(promptId, (data.node_id as string) ?? null, (data.node_type as string) ?? null, String(data.exception_message ?? 'failed').trim(), err?.[0] === 'execution_interrupted');
      }
      const fromFrames = new Set(t.images.map((im) => im.nodeId));
      for (const [nodeId, out] of Object.entries(outputs)) {
        if (fromFrames.has(nodeId)) continue;
        for (const file of (out.images as ComfyFileRef[] | undefined) ?? []) {
          if (file.type !== 'output') continue;
          t.images.push({ nodeId, mime: file.filename.endsWith('.png') ? 'image/png' : 'application/octet-stream', bytes: await this.http.view(file), file });
        }
      }
      this.trackers.delete(promptId);
      t.resolve({ promptId, images: t.images, outputs, seconds: (performance.now() - t.started) / 1000, resubmitted: t.resubmits });
    } catch (e) {
      this.trackers.delete(promptId);
      t.reject(e as Error);
    }
  }
}
