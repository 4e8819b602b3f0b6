import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { dirname } from 'node:path';

import { BundleError } from '../errors.js';

/** What a file must hash to: a sha256 (bundle manifests, hub LFS files) or a git blob id (small hub files). */
export type Expected = { sha256: string } | { gitSha1: string };

export interface ExpectedFile {
  expected: Expected | null;
  /** Bytes, when the source lists them. */
  size: number | null;
}

export interface FetchOptions {
  /** Abort a request when no byte arrives for this long (default 60 s). */
  stallTimeoutMs?: number;
  headers?: Record<string, string>;
  /** Words for a refused request (default `HTTP <status> <text>`). */
  statusMessage?: (status: number, statusText: string) => string;
  /** Called as bytes of the file arrive: all of it received so far, and its size when known. */
  onBytes?: (received: number, total: number | null) => void;
}

/** The checked digest of a file in place. */
export interface FileDigest {
  sha256: string;
  bytes: number;
}

/**
 * Failures a cache may stand in for: no answer (refused, reset, timed out), a server error (5xx, 429) or
 * an answer that is not what was asked. Not: 401/403/404, which say the file is gone or closed to us.
 */
const transient = new WeakSet<Error>();

export function isTransient(e: unknown): boolean {
  return e instanceof Error && transient.has(e);
}

export function fetchFailure(input: string, message: string, options: { cause?: unknown; transient?: boolean } = {}): BundleError {
  const error = new BundleError('DOWNLOAD_FAILED', message, { input, cause: options.cause });
  if (options.transient) transient.add(error);
  return error;
}

/**
 * A GET whose body must keep arriving: aborted when no byte comes for `stallTimeoutMs`. Call `progress`
 * on each chunk and `done` at the end. Follows redirects (fetch drops an authorization header on a
 * cross-origin hop).
 */
export async function request(url: string, options: FetchOptions = {}): Promise<{ response: Response; progress: () => void; done: () => void }> {
  const abort = new AbortController();
  const stall = options.stallTimeoutMs ?? 60_000;
  const arm = () => setTimeout(() => abort.abort(new Error(`no data for ${stall / 1000} s`)), stall);
  let timeout = arm();
  const done = () => clearTimeout(timeout);
  let response: Response;
  try {
    response = await fetch(url, { redirect: 'follow', signal: abort.signal, headers: options.headers ?? {} });
  } catch (e) {
    done();
    const cause = (e as { cause?: Error }).cause;
    throw fetchFailure(url, `request failed: ${(e as Error).message}${cause ? ` (${cause.message})` : ''}`, { cause: e, transient: true });
  }
  if (!(response.ok || response.status === 206)) {
    done();
    await response.body?.cancel().catch(() => undefined);
    const message = (options.statusMessage ?? ((s, t) => `HTTP ${s} ${t}`))(response.status, response.statusText);
    throw fetchFailure(url, message, { transient: response.status >= 500 || response.status === 429 });
  }
  return {
    response,
    progress: () => {
      done();
      timeout = arm();
    },
    done,
  };
}

function hashers(expected: Expected | null, size: number | null) {
  const sha256 = createHash('sha256');
  const git = expected && 'gitSha1' in expected && size !== null ? createHash('sha1').update(`blob ${size}\0`) : null;
  return {
    update(chunk: Uint8Array) {
      sha256.update(chunk);
      git?.update(chunk);
    },
    digest() {
      return { sha256: sha256.digest('hex'), gitSha1: git?.digest('hex') ?? null };
    },
  };
}

function mismatch(digest: { sha256: string; gitSha1: string | null }, expected: Expected | null, source: string): string | null {
  if (expected && 'sha256' in expected && digest.sha256 !== expected.sha256) return `sha256 ${digest.sha256}, ${source} lists ${expected.sha256}`;
  if (expected && 'gitSha1' in expected && digest.gitSha1 !== null && digest.gitSha1 !== expected.gitSha1) return `git blob ${digest.gitSha1}, ${source} lists ${expected.gitSha1}`;
  return null;
}

/** A file already in place whole (an interrupted run got that far) and matching what is expected: its digest, or null. */
export async function verifiedInPlace(path: string, file: ExpectedFile): Promise<FileDigest | null> {
  const size = (await stat(path).catch(() => null))?.size;
  if (size === undefined || file.expected === null || (file.size !== null && size !== file.size)) return null;
  const hash = hashers(file.expected, size);
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  const digest = hash.digest();
  return mismatch(digest, file.expected, '') === null ? { sha256: digest.sha256, bytes: size } : null;
}

/**
 * Downloads `url` into `path`, hashing as it arrives, and keeps it only when its size and digest are the
 * expected ones (CHECKSUM_MISMATCH otherwise). A broken transfer leaves `<path>.incomplete`, which the next
 * call resumes with a Range request; a file already in place whole is checked and kept. `source` names who
 * listed the expected values, for messages.
 */
export async function downloadVerified(url: string, path: string, file: ExpectedFile, source: string, options: FetchOptions = {}): Promise<FileDigest> {
  const there = await verifiedInPlace(path, file);
  if (there) return there;
  const part = `${path}.incomplete`;
  await mkdir(dirname(path), { recursive: true });
  const have = (await stat(part).catch(() => null))?.size ?? 0;
  const { response, progress, done } = await request(url, { ...options, headers: { ...options.headers, ...(have > 0 ? { range: `bytes=${have}-` } : {}) } });
  const resumed = response.status === 206 && have > 0;
  const total = file.size ?? (Number(response.headers.get('x-linked-size') ?? response.headers.get('content-length')) || null);
  const hash = hashers(file.expected, total);
  let received = 0;
  if (resumed) {
    for await (const chunk of createReadStream(part)) hash.update(chunk as Buffer);
    received = have;
  }
  const out = createWriteStream(part, { flags: resumed ? 'a' : 'w' });
  // A write still queued when a broken download destroys the stream fails there; its error is the break's.
  let writeError: Error | undefined;
  out.on('error', (e) => void (writeError ??= e));
  try {
    for await (const chunk of (response.body ?? []) as AsyncIterable<Uint8Array>) {
      progress();
      received += chunk.byteLength;
      if (total !== null && received > total) throw fetchFailure(url, `body is longer than the ${total} bytes ${source} lists`);
      hash.update(chunk);
      if (writeError) throw writeError;
      if (!out.write(chunk)) await once(out, 'drain'); // rejects when the stream fails instead
      options.onBytes?.(received, total);
    }
    await new Promise<void>((resolve, reject) => out.end((e?: Error | null) => (e ? reject(e) : resolve())));
  } catch (e) {
    // The partial file stays: the next attempt resumes from it.
    out.destroy();
    throw e instanceof BundleError ? e : fetchFailure(url, `download broke off after ${received} bytes: ${(e as Error).message} (run again to resume)`, { cause: e });
  } finally {
    done();
  }
  const digest = hash.digest();
  const bad = total !== null && received !== total ? `got ${received} bytes, ${source} lists ${total}` : mismatch(digest, file.expected, source);
  if (bad) {
    await rm(part, { force: true });
    throw new BundleError('CHECKSUM_MISMATCH', bad, { input: url });
  }
  await rename(part, path);
  return { sha256: digest.sha256, bytes: received };
}
