import { UsageError } from '@clip-agiqa/core';

import type { ComfyClient, PromptRun, Workflow } from './client.js';
import { ComfyConnectionError } from './errors.js';

/** Somewhere to run prompts: one ComfyUI, or a pool of them. */
export interface PromptRunner {
  run(workflow: Workflow): Promise<PromptRun>;
}

export interface ComfyPoolOptions {
  /** A prompt left a server that failed, to run again on another. */
  onRedispatch?: (from: ComfyClient, error: Error) => void;
  /** A server stopped answering (with why) or answers again: called once per change. */
  onHostChange?: (client: ComfyClient, up: boolean, reason?: string) => void;
  /** How often servers that are down are probed (default 1 s). */
  probeMs?: number;
  /**
   * How long a server whose connection dropped may take to come back, while another is healthy, before
   * its prompts move to a healthy one (default 5 s). With no healthy server, the clients' reconnect window applies.
   */
  failoverMs?: number;
}

/**
 * Several ComfyUI servers: each prompt goes to the least busy healthy one (by /queue), ties in turn. The
 * pool starts with the servers that answer and probes the others until they join; it fails only when
 * none answers. A prompt whose server dies runs again on a healthy one within failoverMs (it waits out
 * the reconnect window only when no server is healthy), so one lost machine does not fail a whole
 * best-of-N; a workflow error is the workflow's and is not retried elsewhere.
 */
export class ComfyPool implements PromptRunner {
  private turn = 0;
  /** Servers that do not answer, since when (performance.now()). */
  private readonly down = new Map<ComfyClient, number>();
  private readonly unwatch: (() => void)[];
  private timer: NodeJS.Timeout | null = null;

  constructor(readonly clients: ComfyClient[], private readonly o: ComfyPoolOptions = {}) {
    if (clients.length === 0) throw new UsageError('INVALID_ARGUMENT', 'a pool needs at least one ComfyUI');
    this.unwatch = clients.map((c) => c.watchConnection((open) => (open ? this.markUp(c) : this.markDown(c, 'its connection dropped'))));
  }

  /** Probes every server; resolves with those that answer, throws ComfyConnectionError naming each when none does. */
  async start(): Promise<ComfyClient[]> {
    const probes = await Promise.allSettled(this.clients.map((c) => c.queue()));
    probes.forEach((p, i) => { if (p.status === 'rejected') this.markDown(this.clients[i]!, (p.reason as Error).message); });
    const healthy = this.healthy();
    if (healthy.length === 0) {
      throw new ComfyConnectionError(`no ComfyUI of the pool answers: ${probes.map((p) => (p.status === 'rejected' ? (p.reason as Error).message : '')).join('; ')}`);
    }
    return healthy;
  }

  /** The servers not known to be down. */
  healthy(): ComfyClient[] {
    return this.clients.filter((c) => !this.down.has(c));
  }

  private markDown(c: ComfyClient, reason: string): void {
    if (this.down.has(c)) return;
    this.down.set(c, performance.now());
    this.o.onHostChange?.(c, false, reason);
    this.timer ??= setInterval(() => this.tick(), this.o.probeMs ?? 1000);
    this.timer.unref();
  }

  private markUp(c: ComfyClient): void {
    if (!this.down.delete(c)) return;
    this.o.onHostChange?.(c, true);
    if (this.down.size === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = null;
    }
  }

  /** Probes the servers that are down, and moves the prompts of those down too long while another is healthy. */
  private tick(): void {
    const healthy = this.healthy();
    for (const [c, since] of this.down) {
      void c.queue().then(() => this.markUp(c), () => undefined);
      const waited = performance.now() - since;
      if (healthy.length === 0 || waited < (this.o.failoverMs ?? 5000) || c.ownPrompts().length === 0) continue;
      void c.cancelOwn().catch(() => undefined); // should it come back, it must not run them twice
      c.abandon(new ComfyConnectionError(`ComfyUI at ${c.baseUrl} has not answered for ${(waited / 1000).toFixed(0)} s; its prompts move to ${healthy.map((h) => h.baseUrl).join(', ')}`));
    }
  }

  async pick(exclude: ReadonlySet<ComfyClient> = new Set()): Promise<ComfyClient> {
    const allowed = this.clients.filter((c) => !exclude.has(c));
    const healthy = allowed.filter((c) => !this.down.has(c));
    // With no healthy server, a prompt waits on one that is down, within its client's reconnect window.
    const live = healthy.length ? healthy : allowed;
    const loads = await Promise.all(live.map((c) => c.load().catch((e: Error) => {
      this.markDown(c, e.message);
      return Infinity;
    })));
    const least = Math.min(...loads);
    if (least === Infinity) throw new ComfyConnectionError(`no ComfyUI of the pool answers (${this.clients.map((c) => c.baseUrl).join(', ')})`);
    const candidates = live.filter((_, i) => loads[i] === least);
    return candidates[this.turn++ % candidates.length]!;
  }

  async run(workflow: Workflow): Promise<PromptRun> {
    // Servers this prompt failed on are skipped while they stay down; one that came back may take it again.
    const failed = new Set<ComfyClient>();
    for (let tries = 0; ; tries++) {
      const skip = new Set([...failed].filter((c) => this.down.has(c) || tries >= this.clients.length * 2));
      const client = await this.pick(skip);
      try {
        return await client.run(workflow);
      } catch (e) {
        if (!(e instanceof ComfyConnectionError) || tries >= this.clients.length * 3) throw e;
        failed.add(client);
        this.markDown(client, e.message);
        this.o.onRedispatch?.(client, e);
      }
    }
  }

  /** Stops probing and watching the servers (the clients stay open: their owner closes them). */
  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    for (const u of this.unwatch) u();
  }
}
