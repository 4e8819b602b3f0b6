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
  /**
   * Set when images streamed by SaveImageWebsocket were lost while the websocket was down: `rerun` when
   * the nodes that were missing (and what they depend on) were queued again with the same inputs,
   * `history` when a re-run was not possible and the images ComfyUI recorded (saves and previews) were used.
   */
  recovered?: { method: 'rerun' | 'history'; nodes: string[] };
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
  /** The websocket dropped while this prompt was awaited: frames may have been lost. */
  dropped: boolean;
  /** Whether the node now executing was seen starting on the current connection. */
  executingWatched: boolean;
  /** Nodes whose whole execution (from their executing event to the next) was watched on a live connection. */
  watched: Set<string>;
  /** This prompt is itself a re-run of lost websocket outputs: it is not re-run again. */
  isRerun: boolean;
}

/** Output nodes that stream their images as websocket frames and record nothing in /history. */
const WEBSOCKET_OUTPUTS = new Set(['SaveImageWebsocket']);

export interface PromptTrackerOptions {
  maxResubmits?: number;
  onEvent?: (event: ComfyEvent) => void;
  /** Fail the awaited prompts when the server sends nothing for this long while connected (default 300 s; 0: never). */
  stallTimeoutMs?: number;
}

/** The workflow reduced to the given nodes and everything they depend on. */
export function subgraph(workflow: Workflow, nodes: string[]): Workflow {
  const keep: Workflow = {};
  const visit = (id: string) => {
    const node = workflow[id];
    if (!node || keep[id]) return;
    keep[id] = node;
    for (const v of Object.values(node.inputs)) if (Array.isArray(v) && typeof v[0] === 'string') visit(v[0]);
  };
  nodes.forEach(visit);
  return keep;
}

/**
 * The prompts this client awaits: routes websocket events and image frames to them, finishes each
 * from /history (adding saved images not seen as frames), and after a reconnect re-syncs them:
 * finished meanwhile, still queued, or lost by a restarted server and queued again.
 */
export class PromptTracker {
  private readonly trackers = new Map<string, Tracker>();
  private running: string | null = null;
  private lastHeard = performance.now();
  private connected = false;
  private watchdog: NodeJS.Timeout | null = null;

  constructor(private readonly http: ComfyHttp, private readonly o: PromptTrackerOptions = {}) {}

  /** Starts awaiting a prompt (before it is queued, so its first events are recognised). */
  track(promptId: string, workflow: Workflow, isRerun = false): Promise<PromptRun> {
    if (this.trackers.size === 0) this.lastHeard = performance.now();
    this.startWatchdog();
    const done = new Promise<PromptRun>((resolve, reject) => {
      this.trackers.set(promptId, { workflow, images: [], executing: null, started: performance.now(), resubmits: 0, resolve, reject, finishing: false, dropped: false, executingWatched: false, watched: new Set(), isRerun });
    });
    // The prompt can fail before the caller awaits it (an error event may beat the answer to POST /prompt).
    done.catch(() => undefined);
    return done;
  }

  /** The websocket opened (the stall clock restarts) or dropped (awaited prompts may miss frames; no stall while reconnecting). */
  connectionChanged(open: boolean): void {
    this.connected = open;
    this.lastHeard = performance.now();
    if (!open) {
      for (const t of this.trackers.values()) {
        t.dropped = true;
        t.executingWatched = false;
      }
    }
  }

  /**
   * A server that stops sending anything while prompts are awaited is frozen (a hung node, a deadlock):
   * ComfyUI streams progress, executing and status messages while it works, and the socket stays up.
   */
  private startWatchdog(): void {
    const limit = this.o.stallTimeoutMs ?? 300_000;
    if (this.watchdog || limit <= 0) return;
    this.watchdog = setInterval(() => {
      if (this.trackers.size === 0) {
        clearInterval(this.watchdog!);
        this.watchdog = null;
        return;
      }
      const silent = performance.now() - this.lastHeard;
      if (!this.connected || silent < limit) return;
      const where = [...this.trackers].map(([id, t]) => `prompt ${id}${t.executing ? ` at node ${t.executing} (${t.workflow[t.executing]?.class_type ?? '?'})` : ' (queued)'}`);
      for (const id of this.trackers.keys()) void this.http.interrupt(id).catch(() => undefined);
      this.failAll(new ComfyConnectionError(`ComfyUI at ${this.http.baseUrl} sent nothing for ${(silent / 1000).toFixed(0)} s while running ${where.join(', ')}: it looks frozen (raise the stall timeout for nodes that run longer silently)`));
    }, Math.min(1000, Math.max(10, limit / 4)));
    this.watchdog.unref();
  }

  stop(): void {
    if (this.watchdog) clearInterval(this.watchdog);
    this.watchdog = null;
  }

  /** The prompts awaited now (queued, running, or being re-synced). */
  ids(): string[] {
    return [...this.trackers.keys()];
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
    this.lastHeard = performance.now();
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
        if (t.executing && t.executingWatched) t.watched.add(t.executing);
        if (d.node === null) void this.finish(promptId!);
        else {
          t.executing = String(d.node);
          t.executingWatched = true;
        }
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

  private async addSaved(t: Tracker, outputs: Record<string, Record<string, unknown>>, skip: Set<string | null>, types: string[]): Promise<void> {
    for (const [nodeId, out] of Object.entries(outputs)) {
      if (skip.has(nodeId)) continue;
      for (const file of (out.images as ComfyFileRef[] | undefined) ?? []) {
        if (!types.includes(file.type)) continue;
        t.images.push({ nodeId, mime: file.filename.endsWith('.png') ? 'image/png' : 'application/octet-stream', bytes: await this.http.view(file), file });
      }
    }
  }

  /**
   * The prompt succeeded but frames of websocket outputs were sent while the socket was down. Queue
   * only those nodes (and their inputs) again: same inputs, same images, and ComfyUI serves the
   * unchanged upstream nodes from its cache. If that fails, use the previews/saves /history recorded.
   */
  private async recover(t: Tracker, lost: string[], outputs: Record<string, Record<string, unknown>>): Promise<PromptRun['recovered']> {
    let rerunError: Error;
    try {
      const again = randomUUID();
      const workflow = subgraph(t.workflow, lost);
      if (t.isRerun) throw new ComfyConnectionError('the connection dropped again');
      const done = this.track(again, workflow, true);
      try {
        await this.http.queuePrompt(workflow, again);
      } catch (e) {
        this.trackers.delete(again);
        throw e;
      }
      const rerun = await done;
      const images = rerun.images.filter((im) => im.nodeId !== null && lost.includes(im.nodeId));
      if (images.length === 0) throw new ComfyConnectionError('the re-run produced no image');
      t.images.push(...images);
      return { method: 'rerun', nodes: lost };
    } catch (e) {
      rerunError = e as Error;
    }
    const before = t.images.length;
    await this.addSaved(t, outputs, new Set(), ['temp']);
    if (t.images.length > before) return { method: 'history', nodes: lost };
    throw new ComfyConnectionError(`the images of websocket output node(s) ${lost.join(', ')} were lost while the connection to ComfyUI at ${this.http.baseUrl} was down, and re-running them failed: ${rerunError.message}`);
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
      const lost = t.dropped ? Object.keys(t.workflow).filter((id) => WEBSOCKET_OUTPUTS.has(t.workflow[id]!.class_type) && !t.watched.has(id)) : [];
      // Frames of a node whose run was not watched whole may be a partial batch: the re-run replaces them.
      t.images = t.images.filter((im) => im.nodeId === null || !lost.includes(im.nodeId));
      await this.addSaved(t, outputs, new Set(t.images.map((im) => im.nodeId)), ['output']);
      const recovered = lost.length ? await this.recover(t, lost, outputs) : undefined;
      this.trackers.delete(promptId);
      t.resolve({ promptId, images: t.images, outputs, seconds: (performance.now() - t.started) / 1000, resubmitted: t.resubmits, ...(recovered ? { recovered } : {}) });
    } catch (e) {
      this.trackers.delete(promptId);
      t.reject(e as Error);
    }
  }
}
