import { mkdirSync } from 'node:fs';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { Redis, ReplyError } from 'ioredis';

import { StoreUnavailableError } from '../errors.js';

import { blobName, checkBlobName } from './blob-name.js';
import { classifyRedisError } from './redis-connect.js';
import type { Claim, JobRecord, JobStore, StoredAnswer } from './job-store.js';

/** Stores the record unless one with its id exists; indexes it as unfinished. */
const ACCEPT = `
if redis.call('SET', KEYS[1], ARGV[1], 'NX') then
  redis.call('ZADD', KEYS[2], ARGV[2], ARGV[3])
  return 1
end
return 0`;

/** The stored answer of a message, or else a claim on it (1) unless another request holds one (0). */
const CLAIM = `
local answer = redis.call('GET', KEYS[1])
if answer then
  if cjson.decode(answer).expiresAt > tonumber(ARGV[2]) then return {answer, 0} end
  redis.call('DEL', KEYS[1])
end
if redis.call('SET', KEYS[2], '1', 'NX', 'PX', ARGV[1]) then return {false, 1} end
return {false, 0}`;

/** Stores the record; a finished one leaves the unfinished index and expires after the retention. */
const UPDATE = `
if ARGV[4] == '1' then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[5])
  redis.call('ZREM', KEYS[2], ARGV[3])
else
  redis.call('SET', KEYS[1], ARGV[1])
  redis.call('ZADD', KEYS[2], ARGV[2], ARGV[3])
end
return 1`;

export interface RedisStoreOptions {
  /** `redis://HOST:PORT/DB` (or `rediss://`). */
  url: string;
  /** Prefix of every key this service writes (default `clip-agiqa`); several services can share one Redis. */
  prefix?: string;
  /** How long a delivered or dead job stays readable (default 24 h). */
  retentionMs?: number;
  /** A local folder that caches blobs read from Redis (a cache only: Redis holds every blob). */
  cacheDir?: string;
  /** How long a message id stays claimed by a request that never settles it (its replica died); default 2 min. */
  claimTtlMs?: number;
}

const isFinished = (r: JobRecord): boolean => r.state === 'delivered' || r.state === 'dead';

/** A lost or refused connection becomes a 503 for HTTP callers; an error Redis answered stays what it is. */
async function reachable<T>(p: Promise<T>): Promise<T> {
  try {
    return await p;
  } catch (e) {
    throw e instanceof ReplyError ? e : new StoreUnavailableError(e as Error);
  }
}

/**
 * Job state in Redis, shared by every replica of the service: job records (JSON, one key each), an index
 * of unfinished jobs ordered by acceptance, inline and fetched images, and idempotency records that
 * expire. Every write is acknowledged by Redis before its promise resolves; with the append-only file
 * on (`appendfsync always`) an acknowledged write survives a Redis restart. The queue itself is BullMQ's
 * (see BullQueues), in the same Redis.
 */
export class RedisStore implements JobStore {
  readonly redis: Redis;
  readonly prefix: string;
  private readonly retentionMs: number;
  private readonly claimTtlMs: number;

  constructor(private readonly opts: RedisStoreOptions) {
    this.prefix = opts.prefix ?? 'clip-agiqa';
    this.retentionMs = opts.retentionMs ?? 24 * 3600 * 1000;
    this.claimTtlMs = opts.claimTtlMs ?? 120_000;
    // Fail fast while Redis is away (the HTTP layer answers 503), and reconnect in the background.
    this.redis = new Redis(opts.url, { maxRetriesPerRequest: 1, enableOfflineQueue: false, lazyConnect: true });
    this.redis.on('error', () => undefined); // reported through ready() and failed commands
    if (opts.cacheDir) mkdirSync(opts.cacheDir, { recursive: true });
  }

  static async open(opts: RedisStoreOptions): Promise<RedisStore> {
    const store = new RedisStore(opts);
    try {
      await store.redis.connect();
    } catch (e) {
      store.redis.disconnect(); // its reconnect loop would keep the process alive
      throw classifyRedisError(opts.url, e);
    }
    return store;
  }

  private key(kind: string, id = ''): string {
    return `${this.prefix}:store:${kind}${id ? `:${id}` : ''}`;
  }

  /** Whether Redis answers now. */
  async ready(): Promise<boolean> {
    try {
      return (await this.redis.ping()) === 'PONG';
    } catch {
      return false;
    }
  }

  async accept(record: JobRecord): Promise<boolean> {
    const r = await reachable(this.redis.eval(ACCEPT, 2, this.key('job', record.id), this.key('unfinished'), JSON.stringify(record), record.acceptedAt, record.id));
    return r === 1;
  }

  async update(record: JobRecord): Promise<void> {
    await reachable(this.redis.eval(UPDATE, 2, this.key('job', record.id), this.key('unfinished'),
      JSON.stringify(record), record.acceptedAt, record.id, isFinished(record) ? '1' : '0', this.retentionMs));
  }

  async get(id: string): Promise<JobRecord | undefined> {
    const text = await reachable(this.redis.get(this.key('job', id)));
    return text === null ? undefined : (JSON.parse(text) as JobRecord);
  }

  /** Jobs still to score or to deliver, oldest first (at most `limit`, all by default). */
  async unfinished(limit = -1): Promise<JobRecord[]> {
    const ids = await this.redis.zrange(this.key('unfinished'), 0, limit < 0 ? -1 : limit - 1);
    if (ids.length === 0) return [];
    const texts = await this.redis.mget(ids.map((id) => this.key('job', id)));
    return texts.flatMap((t) => (t === null ? [] : [JSON.parse(t) as JobRecord]));
  }

  async dead(): Promise<JobRecord[]> {
    const out: JobRecord[] = [];
    const keys = this.redis.scanStream({ match: this.key('job', '*'), count: 1000 });
    for await (const batch of keys as AsyncIterable<string[]>) {
      if (batch.length === 0) continue;
      for (const t of await reachable(this.redis.mget(batch))) {
        const r = t === null ? null : (JSON.parse(t) as JobRecord);
        if (r?.state === 'dead') out.push(r);
      }
    }
    return out;
  }

  async unfinishedCount(): Promise<number> {
    return this.redis.zcard(this.key('unfinished'));
  }

  /**
   * One SET NX across every replica: of two requests racing with one message id, one claims it and the
   * other is told it is busy (or, once settled, gets the stored answer). A claim expires after
   * `claimTtlMs`, so a replica that dies mid-request does not hold the id for ever.
   */
  async claimMessage(key: string, now = Date.now()): Promise<Claim> {
    const [answer, claimed] = await reachable(this.redis.eval(CLAIM, 2, this.key('answer', key), this.key('claim', key), this.claimTtlMs, now) as Promise<[string | null, number]>);
    if (answer !== null) return { state: 'answered', answer: JSON.parse(answer) as StoredAnswer };
    return claimed === 1 ? { state: 'claimed' } : { state: 'busy' };
  }

  async settleMessage(key: string, answer: StoredAnswer | null): Promise<void> {
    const tx = this.redis.multi();
    if (answer) tx.set(this.key('answer', key), JSON.stringify(answer), 'PXAT', Math.max(answer.expiresAt, Date.now() + 1));
    tx.del(this.key('claim', key));
    await reachable(tx.exec());
  }

  /** Stores an image; `ttlMs` for images that only a short-lived request needs. */
  async putBlob(jobId: string, candidate: number, bytes: Uint8Array, ttlMs?: number): Promise<string> {
    const name = blobName(jobId, candidate, bytes);
    const data = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    await reachable(ttlMs ? this.redis.set(this.key('blob', name), data, 'PX', ttlMs) : this.redis.set(this.key('blob', name), data));
    return name;
  }

  async readBlob(name: string): Promise<Buffer> {
    checkBlobName(name);
    const cached = this.opts.cacheDir ? join(this.opts.cacheDir, name) : null;
    if (cached) {
      try {
        return await readFile(cached);
      } catch {
        // not cached yet
      }
    }
    const bytes = await this.redis.getBuffer(this.key('blob', name));
    if (bytes === null) throw Object.assign(new Error(`ENOENT: no blob ${name} in Redis`), { code: 'ENOENT' });
    if (cached) {
      const tmp = `${cached}.${process.pid}.tmp`;
      await writeFile(tmp, bytes);
      await rename(tmp, cached);
    }
    return bytes;
  }

  async dropBlobs(record: Pick<JobRecord, 'blobs'>): Promise<void> {
    const names = record.blobs.filter((n): n is string => !!n);
    if (names.length === 0) return;
    await this.redis.del(...names.map((n) => this.key('blob', n)));
    if (this.opts.cacheDir) await Promise.all(names.map((n) => rm(join(this.opts.cacheDir!, n), { force: true })));
  }

  async close(): Promise<void> {
    this.redis.disconnect();
  }
}
