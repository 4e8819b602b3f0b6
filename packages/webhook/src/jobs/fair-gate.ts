import { HttpError } from '../errors.js';

/** Who asks for a slot: a synchronous request (a sender waits on the answer) or a queued job, and the route it came in on. */
export interface Claim {
  sync: boolean;
  route: string;
  /** How long a synchronous claim may wait before the 503; queued jobs wait their turn as long as it takes. */
  waitMs?: number;
}

interface Waiter { claim: Claim; grant(): void }

export interface FairGateOptions {
  /** Slots in all. */
  capacity: number;
  /** Slots only synchronous claims may take, so that queued jobs never hold them all. */
  reservedForSync: number;
  /** The 503's code and what the slots are, for its message. */
  busyCode: string;
  what: string;
}

/**
 * Slots shared fairly: a synchronous claim goes before every queued job and has slots of its own;
 * within each kind, a freed slot goes to the routes in turn (round robin), so one tenant's burst
 * waits behind itself, not in front of everyone else. Synchronous waits are bounded (then 503 with
 * the gate's code).
 */
export class FairGate {
  private readonly waiting = { sync: new Map<string, Waiter[]>(), queued: new Map<string, Waiter[]>() };
  private held = 0;
  private heldByQueued = 0;

  constructor(private readonly o: FairGateOptions) {}

  get capacity(): number {
    return this.o.capacity;
  }

  get inUse(): number {
    return this.held;
  }

  get waitingCount(): number {
    let n = 0;
    for (const lines of [this.waiting.sync, this.waiting.queued]) for (const line of lines.values()) n += line.length;
    return n;
  }

  /** Runs `work` in a slot, once the claim's turn comes. */
  async run<T>(claim: Claim, work: () => Promise<T>): Promise<T> {
    await this.acquire(claim);
    try {
      return await work();
    } finally {
      this.release(claim);
    }
  }

  private fits(sync: boolean): boolean {
    if (this.held >= this.o.capacity) return false;
    return sync || this.heldByQueued < this.o.capacity - this.o.reservedForSync;
  }

  private take(claim: Claim): void {
    this.held++;
    if (!claim.sync) this.heldByQueued++;
  }

  private acquire(claim: Claim): Promise<void> {
    const lines = claim.sync ? this.waiting.sync : this.waiting.queued;
    if (lines.size === 0 && (claim.sync || this.waiting.sync.size === 0) && this.fits(claim.sync)) {
      this.take(claim);
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const waiter: Waiter = { claim, grant: () => { clearTimeout(timer); resolve(); } };
      const line = lines.get(claim.route) ?? [];
      line.push(waiter);
      lines.set(claim.route, line);
      if (claim.sync && claim.waitMs !== undefined && Number.isFinite(claim.waitMs)) {
        timer = setTimeout(() => {
          this.remove(lines, claim.route, waiter);
          reject(new HttpError(503, this.o.busyCode, `${this.o.what} stayed busy for ${claim.waitMs} ms; retry later`, { 'retry-after': '2' }));
        }, claim.waitMs);
      }
    });
  }

  private remove(lines: Map<string, Waiter[]>, route: string, waiter: Waiter): void {
    const line = lines.get(route);
    if (!line) return;
    line.splice(line.indexOf(waiter), 1);
    if (line.length === 0) lines.delete(route);
  }

  private release(claim: Claim): void {
    this.held--;
    if (!claim.sync) this.heldByQueued--;
    this.pump();
  }

  /** Hands free slots on: synchronous claims first, then queued jobs; the route served moves to the back of its kind's turn. */
  private pump(): void {
    for (const [sync, lines] of [[true, this.waiting.sync], [false, this.waiting.queued]] as const) {
      while (lines.size && this.fits(sync)) {
        const [route, line] = lines.entries().next().value as [string, Waiter[]];
        const waiter = line.shift()!;
        lines.delete(route);
        if (line.length) lines.set(route, line); // Map order is insertion order: this route now goes last
        this.take(waiter.claim);
        waiter.grant();
      }
      if (lines.size) return; // a synchronous claim still waits: queued jobs do not overtake it
    }
  }
}
