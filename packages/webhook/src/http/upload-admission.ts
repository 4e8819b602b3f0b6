import { isIP } from 'node:net';

import { HttpError } from '../errors.js';

export interface UploadLimits {
  /** Unauthenticated uploads in progress across all clients. */
  total: number;
  /** Unauthenticated uploads in progress from one client address. */
  perAddress: number;
  /** Bytes unauthenticated uploads buffer across all clients. */
  totalBytes: number;
  /** Bytes unauthenticated uploads from one client address buffer together (one upload may always reach its route's body limit). */
  perAddressBytes: number;
}

/**
 * The client a connection counts against: its IPv4 address, or the /64 network of an IPv6 one (a
 * single host is usually handed a whole /64, so counting addresses within it would count nothing).
 */
export function clientKey(remoteAddress: string | undefined): string {
  const address = (remoteAddress ?? 'unknown').replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/i, '');
  if (isIP(address) !== 6) return address;
  const [head = '', tail] = address.toLowerCase().split('::');
  const left = head ? head.split(':') : [];
  const right = tail === undefined ? [] : tail ? tail.split(':') : [];
  const groups = tail === undefined ? left : [...left, ...new Array<string>(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right];
  return `${groups.slice(0, 4).map((g) => parseInt(g, 16).toString(16)).join(':')}::/64`;
}

interface Usage { uploads: number; bytes: number }

/** An upload may be cut off for a newcomer once it has had this long to show its pace. */
const EVICTABLE_AFTER_MS = 1000;

const tooMany = (message: string) => new HttpError(429, 'ADDRESS_UPLOAD_LIMIT', message, { 'retry-after': '1' });
const full = (message: string) => new HttpError(503, 'TOO_MANY_UPLOADS', message, { 'retry-after': '1' });

/** One unauthenticated upload admitted: it counts the bytes it buffers and gives everything back on `release`. */
export interface UploadTicket {
  /** Counts `n` more buffered bytes; an HttpError (to answer with) when a budget would be exceeded. */
  add(n: number): HttpError | null;
  /** Aborted (with the HttpError to answer) when the upload is cut off to make room for another. */
  readonly signal: AbortSignal;
  release(): void;
}

interface Held { startedAt: number; bytes: number; evict(): void }

/**
 * Who may upload a body before its signature can be checked: a few uploads and a small byte budget
 * per client address, within larger totals. Clients that hold many slow uploads exhaust their own
 * share, not the service's; and when every slot is taken, a newcomer takes the slot of the slowest
 * upload under way, so slow connections cannot keep a signed sender out however many addresses
 * they come from.
 */
export class UploadAdmission {
  private readonly byClient = new Map<string, Usage>();
  private readonly held = new Set<Held>();
  private bytes = 0;

  constructor(private readonly limits: UploadLimits) {}

  get inProgress(): number {
    return this.held.size;
  }

  get buffered(): number {
    return this.bytes;
  }

  /** Admits an upload from `remoteAddress` whose body may be up to `bodyLimit` bytes, or throws 429 (this address) / 503 (everyone). */
  admit(remoteAddress: string | undefined, bodyLimit: number): UploadTicket {
    const key = clientKey(remoteAddress);
    const usage = this.byClient.get(key) ?? { uploads: 0, bytes: 0 };
    if (usage.uploads >= this.limits.perAddress) throw tooMany(`${usage.uploads} uploads from this address are already in progress; retry later`);
    if (this.held.size >= this.limits.total && !this.evictSlowest()) throw full('too many uploads in progress; retry later');
    usage.uploads++;
    this.byClient.set(key, usage);
    // One body may always reach its route's limit, whatever the budgets: they bound bodies read side by side.
    const addressBudget = Math.max(this.limits.perAddressBytes, bodyLimit);
    const totalBudget = Math.max(this.limits.totalBytes, bodyLimit);
    const cutOff = new AbortController();
    const mine: Held = { startedAt: Date.now(), bytes: 0, evict: () => cutOff.abort(full('cut off to make room for another upload: this one was the slowest')) };
    this.held.add(mine);
    let released = false;
    return {
      signal: cutOff.signal,
      add: (n) => {
        if (released) return null;
        if (usage.bytes + n > addressBudget) return tooMany(`uploads from this address buffer more than ${addressBudget} bytes at once; retry later`);
        if (this.bytes + n > totalBudget) return full('unauthenticated uploads are buffering all they may; retry later');
        usage.bytes += n;
        this.bytes += n;
        mine.bytes += n;
        return null;
      },
      release: () => {
        if (released) return;
        released = true;
        this.held.delete(mine);
        usage.uploads--;
        usage.bytes -= mine.bytes;
        this.bytes -= mine.bytes;
        if (usage.uploads === 0) this.byClient.delete(key);
      },
    };
  }

  /** Cuts off the upload with the lowest average rate among those under way long enough to judge; false when none is. */
  private evictSlowest(): boolean {
    const now = Date.now();
    let slowest: Held | null = null;
    let lowest = Infinity;
    for (const h of this.held) {
      const elapsed = now - h.startedAt;
      if (elapsed < EVICTABLE_AFTER_MS) continue;
      const rate = h.bytes / elapsed;
      if (rate < lowest) {
        lowest = rate;
        slowest = h;
      }
    }
    if (!slowest) return false;
    // Its slot is free from now on, whenever its request gets round to releasing it.
    this.held.delete(slowest);
    slowest.evict();
    return true;
  }
}
