import type { CallbackConfig } from '../config/resolve.js';
import { FetchError } from '../errors.js';
import type { Log } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { JobRecord, JobStore } from '../store/job-store.js';
import { markDead, retryBackoff } from './retry-policy.js';
import { Tracker } from './tracker.js';

/** Sends a job's event to its callback, signed for its route; resolves to the receiver's HTTP status, rejects when no answer came. */
export type PostEvent = (record: JobRecord, body: string) => Promise<number>;

export interface DeliveryOptions {
  store: JobStore;
  callback: Pick<CallbackConfig, 'max_attempts' | 'initial_backoff_ms' | 'max_backoff_ms' | 'concurrency'>;
  post: PostEvent;
  log: Log;
  metrics: Metrics;
  /** How often the store is checked for verdicts to deliver even when none is known to be due (re-queued by an operator); default 30 s. */
  rescanMs?: number;
}

/**
 * Delivers stored verdicts to their callbacks, at most `concurrency` at once: every attempt with the job's one webhook-id, failures
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

  private readonly periodic: NodeJS.Timeout;

  constructor(private readonly o: DeliveryOptions) {
    this.periodic = setInterval(() => this.schedule(), o.rescanMs ?? 30_000);
    this.periodic.unref();
  }

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
    clearInterval(this.periodic);
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
      if (this.delivering.size >= this.o.callback.concurrency) break; // the next finished delivery scans again
      this.delivering.add(rec.id);
      void this.work.track(deliverOnce(this.o, rec)
        .catch((e: Error) => this.o.log({ level: 'error', msg: 'delivery bookkeeping failed', job_id: rec.id, error: e.message }))
        .finally(() => { this.delivering.delete(rec.id); this.schedule(); }));
    }
    const later = due.filter((r) => r.delivery.nextAt > now).map((r) => r.delivery.nextAt);
    if (later.length && !this.closing) this.timer = setTimeout(() => this.schedule(), Math.max(10, Math.min(...later) - now));
  }
}

export type DeliveryOutcome = 'delivered' | 'retry' | 'dead';

/**
 * One attempt to deliver a stored verdict under the job's webhook-id; stores the outcome (delivered,
 * or the attempt count, last error and next attempt's time; dead after `max_attempts`).
 */
export async function deliverOnce(o: DeliveryOptions, rec: JobRecord): Promise<DeliveryOutcome> {
  const event = { type: rec.verdict!.type, timestamp: new Date().toISOString(), data: rec.verdict };
  // `error` is kept with the job and shown to its reader: a code, never the URL or an address; `detail` goes to the logs.
  let error: string | null = null;
  let detail: string | undefined;
  try {
    const status = await o.post(rec, JSON.stringify(event));
    if (status < 200 || status >= 300) error = `HTTP ${status}`;
  } catch (e) {
    error = e instanceof FetchError ? e.code : 'NETWORK';
    detail = e instanceof FetchError && e.detail ? `${e.message} (${e.detail})` : (e as Error).message;
  }
  const attempts = rec.delivery.attempts + 1;
  const current = (await o.store.get(rec.id)) ?? rec;
  o.metrics.deliveryAttempts.inc({ outcome: error === null ? 'delivered' : 'failed' });
  if (error === null) {
    await o.store.update({ ...current, state: 'delivered', updatedAt: Date.now(), delivery: { ...current.delivery, attempts, deliveredAt: Date.now() } });
    o.metrics.deliveries.inc({ outcome: 'delivered' });
    o.log({ level: 'info', msg: 'verdict delivered', job_id: rec.id, webhook_id: rec.delivery.webhookId, attempts });
    return 'delivered';
  }
  const c = o.callback;
  const dead = attempts >= c.max_attempts;
  const failed: JobRecord = { ...current, state: 'scored', updatedAt: Date.now(),
    delivery: { ...current.delivery, attempts, lastError: error, nextAt: Date.now() + retryBackoff(attempts, c.initial_backoff_ms, c.max_backoff_ms) } };
  if (dead) await markDead(o, failed, { stage: 'deliver', error, attempts });
  else await o.store.update(failed);
  o.metrics.deliveryRetries.inc();
  o.log({ level: dead ? 'error' : 'warn', msg: dead ? 'delivery abandoned' : 'delivery failed; will retry', job_id: rec.id, attempts, error, ...(detail ? { detail } : {}) });
  return dead ? 'dead' : 'retry';
}
