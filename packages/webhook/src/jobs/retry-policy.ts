import { StoreFullError, StoreUnavailableError } from '../errors.js';
import type { Log } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { DeadCause, JobRecord, JobStore } from '../store/job-store.js';

/** How often a stage of a job is tried, and how long to wait between tries; the same on every store. */
export interface RetryPolicy {
  maxAttempts: number;
  initialBackoffMs: number;
  maxBackoffMs: number;
}

/** The scoring policy as configured (`scoring`) or the delivery one (`callback`). */
export const retryPolicy = (c: { max_attempts: number; initial_backoff_ms: number; max_backoff_ms: number }): RetryPolicy =>
  ({ maxAttempts: c.max_attempts, initialBackoffMs: c.initial_backoff_ms, maxBackoffMs: c.max_backoff_ms });

/** Jittered exponential backoff before attempt `attempt + 1`, capped. */
export function retryBackoff(attempt: number, initialMs: number, maxMs: number): number {
  const base = Math.min(maxMs, initialMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(base * (0.5 + Math.random() * 0.5));
}

/** A failure of the store itself (full disk, Redis away): not the job's fault, so it spends none of the job's attempts. */
export const isStoreFailure = (e: unknown): boolean => e instanceof StoreFullError || e instanceof StoreUnavailableError;

interface Bookkeeping { store: JobStore; log: Log; metrics: Metrics }

/** Ends a job: dead, with the stage that kept failing and its last error (shown by GET /jobs and counted in /metrics). */
export async function markDead(o: Bookkeeping, rec: JobRecord, cause: Omit<DeadCause, 'at'>): Promise<void> {
  const now = Date.now();
  await o.store.update({ ...rec, state: 'dead', updatedAt: now, deadCause: { ...cause, at: now } });
  o.metrics.deadJobs.inc({ stage: cause.stage });
  o.log({ level: 'error', msg: 'job dead', job_id: rec.id, stage: cause.stage, attempts: cause.attempts, error: cause.error });
}

export type ScoreFailure = { outcome: 'retry'; delayMs: number } | { outcome: 'dead' | 'gone' };

/**
 * Counts a failed attempt to fetch and score a queued job (in its record, so the count survives restarts
 * and is the same whichever engine runs the job): retried after a backoff, dead after `maxAttempts`.
 */
export async function scoreFailed(o: Bookkeeping, id: string, error: Error, policy: RetryPolicy): Promise<ScoreFailure> {
  if (isStoreFailure(error)) return { outcome: 'retry', delayMs: retryBackoff(1, policy.initialBackoffMs, policy.maxBackoffMs) };
  const rec = await o.store.get(id);
  if (!rec || rec.state !== 'queued') return { outcome: 'gone' };
  const attempts = (rec.scoreAttempts ?? 0) + 1;
  if (attempts >= policy.maxAttempts) {
    await markDead(o, rec, { stage: 'score', error: error.message, attempts });
    return { outcome: 'dead' };
  }
  await o.store.update({ ...rec, scoreAttempts: attempts, updatedAt: Date.now() });
  o.log({ level: 'warn', msg: 'job failed; retrying', job_id: id, attempt: attempts, error: error.message });
  return { outcome: 'retry', delayMs: retryBackoff(attempts, policy.initialBackoffMs, policy.maxBackoffMs) };
}
