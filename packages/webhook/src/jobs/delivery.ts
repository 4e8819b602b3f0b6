import type { CallbackConfig } from '../config/resolve.js';
import type { Log } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { JobRecord, JobStore } from '../store/job-store.js';
import { Tracker } from './tracker.js';

/** Sends one signed event; resolves to the receiver's HTTP status, rejects when no answer came. */
export type PostEvent = (url: string, webhookId: string, body: string) => Promise<number>;

export interface DeliveryOptions {
  store: JobStore;
  callback: CallbackConfig;
  post: PostEvent;
  log: Log;
  metrics: Metrics;
}

/**
 * Delivers stored verdicts to their callbacks: every attempt with the job's one webhook-id, failures
 * retried with jittered exponential backoff until `max_attempts`, then the job is dead. State lives in
 * the store, so a restart resumes where the last run stopped.
 */
export class DeliveryScheduler {
  private readonly delivering = new Set<string>();
  private timer: NodeJS.Timeout | null = null;
  private closing = false;
  private scanning: Promise<void> | null = null;
  private rescan = false;
  private readonly work = new Tracker();
  /** Verdicts waiting for delivery at the last scan. */
  pending = 0;

  constructor(private readonly o: DeliveryOptions) {}

  /** Looks for due deliveries now and sets a timer for the next one. */
  schedule(): void {
    if (this.closing) return;
    if (this.scanning) {
      this.rescan = true;
      return;
    }
    this.scanning = this.work.track(this.scan()
      .catch((e: Error) => this.o.log({ level: 'error', msg: 'delivery scan failed', error: e.message }))
      .finally(() => {
        this.scanning = null;
        if (this.rescan) { this.rescan = false; this.schedule(); }
      }));
  }

  async close(): Promise<void> {
    this.closing = true;
    if (this.timer) clearTimeout(this.timer);
    await this.work.settled();
  }

  private async scan(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    const now = Date.now();
    const scored = (await this.o.store.unfinished()).filter((r) => r.state === 'scored');
    this.pending = scored.length;
    const due = scored.filter((r) => !this.delivering.has(r.id));
    for (const rec of due.filter((r) => r.delivery.nextAt <= now)) {
      this.delivering.add(rec.id);
      void this.work.track(this.deliver(rec)
        .catch((e: Error) => this.o.log({ level: 'error', msg: 'delivery bookkeeping failed', job_id: rec.id, error: e.message }))
        .finally(() => { this.delivering.delete(rec.id); this.schedule(); }));
    }
    const later = due.filter((r) => r.delivery.nextAt > now).map((r) => r.delivery.nextAt);
    if (later.length && !this.closing) this.timer = setTimeout(() => this.schedule(), Math.max(10, Math.min(...later) - now));
  }

  private backoff(attempt: number): number {
    const c = this.o.callback;
    const base = Math.min(c.max_backoff_ms, c.initial_backoff_ms * 2 ** (attempt - 1));
    return Math.round(base * (0.5 + Math.random() * 0.5));
  }

  private async deliver(rec: JobRecord): Promise<void> {
    const event = { type: rec.verdict!.type, timestamp: new Date().toISOString(), data: rec.verdict };
    let error: string | null = null;
    try {
      const status = await this.o.post(rec.delivery.url, rec.delivery.webhookId, JSON.stringify(event));
      if (status < 200 || status >= 300) error = `HTTP ${status}`;
    } catch (e) {
      error = (e as Error).message;
    }
    const attempts = rec.delivery.attempts + 1;
    const current = (await this.o.store.get(rec.id)) ?? rec;
    if (error === null) {
      await this.o.store.update({ ...current, state: 'delivered', updatedAt: Date.now(), delivery: { ...current.delivery, attempts, deliveredAt: Date.now() } });
      this.o.metrics.inc('clip_agiqa_deliveries_total', { outcome: 'delivered' });
      this.o.log({ level: 'info', msg: 'verdict delivered', job_id: rec.id, webhook_id: rec.delivery.webhookId, attempts });
      return;
    }
    const dead = attempts >= this.o.callback.max_attempts;
    await this.o.store.update({ ...current, state: dead ? 'dead' : 'scored', updatedAt: Date.now(),
      delivery: { ...current.delivery, attempts, lastError: error, nextAt: Date.now() + this.backoff(attempts) } });
    this.o.metrics.inc('clip_agiqa_delivery_retries_total');
    this.o.log({ level: dead ? 'error' : 'warn', msg: dead ? 'delivery abandoned' : 'delivery failed; will retry', job_id: rec.id, attempts, error });
  }
}
