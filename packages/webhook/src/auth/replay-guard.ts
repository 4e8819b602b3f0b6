import { HttpError } from '../errors.js';
import type { JobStore, StoredAnswer } from '../store/job-store.js';

export interface Answer {
  status: number;
  body: unknown;
}

/**
 * Idempotency as webhook senders expect it (Stripe, Svix): a message id is spent only by a request
 * that was accepted (2xx). A retry of an accepted message gets the original answer without new work;
 * a retry of a refused or failed one is processed afresh; a retry while the first is still in
 * progress gets 409 IN_PROGRESS. Answers live in the job store (so they survive restarts) for
 * `retentionMs`, longer than senders retry (Svix: about 28 hours).
 */
export class ReplayGuard {
  constructor(private readonly store: JobStore, readonly retentionMs: number) {}

  /** Runs `work` once per message key; null keys (no message id) always run. */
  async once(key: string | null, work: () => Promise<Answer>): Promise<Answer & { replayed?: true }> {
    if (key === null) return work();
    const claim = await this.store.claimMessage(key);
    if (claim.state === 'answered') return { status: claim.answer.status, body: claim.answer.body, replayed: true };
    if (claim.state === 'busy') throw new HttpError(409, 'IN_PROGRESS', `message ${key} is being processed; retry later`, { 'retry-after': '1' });
    let kept: StoredAnswer | null = null;
    try {
      const answer = await work();
      if (answer.status >= 200 && answer.status < 300) kept = { ...answer, expiresAt: Date.now() + this.retentionMs };
      return answer;
    } finally {
      await this.store.settleMessage(key, kept);
    }
  }
}
