import { HttpError } from '../errors.js';

/** Keeps the ids of verified messages for twice the signature tolerance: a second delivery of one is a replay. */
export class ReplayGuard {
  private readonly seen = new Map<string, number>();
  constructor(private readonly ttlMs = 10 * 60 * 1000) {}

  check(key: string, now = Date.now()): void {
    for (const [k, expiry] of this.seen) {
      if (expiry > now) break;
      this.seen.delete(k);
    }
    if (this.seen.has(key)) throw new HttpError(409, 'REPLAYED', `message ${key} was already received`);
    this.seen.set(key, now + this.ttlMs);
  }
}
