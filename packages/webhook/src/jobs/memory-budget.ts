import { HttpError } from '../errors.js';

/** Bytes held for one use; `release` gives them back (once), `shrink` gives back what turned out unneeded. */
export class Reservation {
  private released = false;
  constructor(private readonly budget: MemoryBudget, public bytes: number) {}

  shrink(to: number): void {
    if (this.released || to >= this.bytes) return;
    this.budget.giveBack(this.bytes - to);
    this.bytes = to;
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    this.budget.giveBack(this.bytes);
  }
}

interface Waiter { bytes: number; sync: boolean; grant(): void }

export interface ReserveOptions {
  /** How long to wait for room (then 503 MEMORY_BUSY); forever by default. */
  waitMs?: number;
  /** What the bytes are for, to name in an error. */
  what?: string;
  /** A synchronous request's reservation waits ahead of every queued job's. */
  sync?: boolean;
}

/**
 * One budget of bytes in flight across all jobs: downloads, decoded pixels and grid crops reserve
 * what they may use before they use it. A reservation larger than the whole budget is refused at once
 * (413 OVER_MEMORY_BUDGET); others wait their turn, synchronous requests ahead of queued jobs and
 * first come first served within each, up to `waitMs` (then 503 MEMORY_BUSY, to retry later).
 */
export class MemoryBudget {
  private used = 0;
  private highWater = 0;
  private readonly queue: Waiter[] = [];

  constructor(readonly total: number) {}

  get inUse(): number {
    return this.used;
  }

  /** The most bytes ever reserved at once. */
  get peak(): number {
    return this.highWater;
  }

  async reserve(bytes: number, { waitMs = Infinity, what = 'this image', sync = false }: ReserveOptions = {}): Promise<Reservation> {
    const n = Math.max(0, Math.ceil(bytes));
    if (n > this.total) throw new HttpError(413, 'OVER_MEMORY_BUDGET', `${what} needs ${n} bytes, more than the whole memory budget (${this.total}); raise limits.memory_bytes`);
    const ahead = sync ? this.queue.filter((w) => w.sync).length : this.queue.length;
    if (ahead === 0 && this.used + n <= this.total) return this.take(n);
    await new Promise<void>((resolve, reject) => {
      const waiter: Waiter = { bytes: n, sync, grant: () => { clearTimeout(timer); resolve(); } };
      const timer = Number.isFinite(waitMs) ? setTimeout(() => {
        this.queue.splice(this.queue.indexOf(waiter), 1);
        this.pump();
        reject(new HttpError(503, 'MEMORY_BUSY', `the memory budget stayed full for ${waitMs} ms; retry later`, { 'retry-after': '5' }));
      }, waitMs) : undefined;
      this.queue.splice(ahead, 0, waiter);
    });
    return new Reservation(this, n);
  }

  /** @internal */
  giveBack(bytes: number): void {
    this.used -= bytes;
    this.pump();
  }

  private take(n: number): Reservation {
    this.used += n;
    this.highWater = Math.max(this.highWater, this.used);
    return new Reservation(this, n);
  }

  private pump(): void {
    while (this.queue.length && this.used + this.queue[0]!.bytes <= this.total) {
      const w = this.queue.shift()!;
      this.used += w.bytes;
      this.highWater = Math.max(this.highWater, this.used);
      w.grant();
    }
  }
}
