import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

import { BundleError, UsageError } from '../../errors.js';
import { resolveInside } from '../load.js';

/** A Hugging Face model repository at a revision: `hf:OWNER/NAME[@REVISION]`. */
export interface HubRef {
  repo: string;
  revision: string;
}

export function parseHubRef(source: string): HubRef {
  const m = /^hf:([A-Za-z0-9][\w.-]*\/[\w.-]+)(?:@([^\s@]+))?$/.exec(source);
  if (!m) throw new UsageError('INVALID_ARGUMENT', `expected hf:OWNER/NAME[@REVISION], got ${source}`);
  return { repo: m[1]!, revision: m[2] ?? 'main' };
}

export interface HubFile {
  path: string;
  /** sha256 for LFS files, the git blob sha1 for the others: what the downloaded bytes are checked against. */
  expected: { sha256: string } | { gitSha1: string } | null;
  size: number | null;
}

export interface HubProgress {
  file: string;
  received: number;
  total: number | null;
}

export interface HubOptions {
  /** Hub address (default $HF_ENDPOINT, else https://huggingface.co), as huggingface_hub reads it. */
  endpoint?: string;
  /** Access token for gated or private repositories (default $HF_TOKEN). */
  token?: string;
  /** Abort a request when no byte arrives for this long (default 60 s). */
  stallTimeoutMs?: number;
  /** Time allowed for the file list (default $HF_HUB_ETAG_TIMEOUT seconds, else 10 s, as huggingface_hub): then the cache stands in. */
  metadataTimeoutMs?: number;
  onProgress?: (p: HubProgress) => void;
  /** Never contact the hub: use the cache only (default: $HF_HUB_OFFLINE set to 1, true, yes or on, as the hub libraries read it). */
  offline?: boolean;
  /** Told, once, when a cached snapshot stands in for a hub that failed (default: a process warning). */
  onWarning?: (message: string) => void;
}

export interface HubSnapshot {
  repo: string;
  /** The commit the revision resolved to: everything was downloaded from it. */
  commit: string;
  dir: string;
  files: Record<string, { sha256: string; bytes: number }>;
}

interface Sibling { rfilename: string; size?: number; blobId?: string; lfs?: { sha256?: string; size?: number } }

export function hubEndpoint(options: HubOptions = {}): string {
  return (options.endpoint ?? process.env.HF_ENDPOINT ?? 'https://huggingface.co').replace(/\/+$/, '');
}

/** True when $HF_HUB_OFFLINE asks the hub libraries to stay off the network. */
export function hubOfflineFromEnv(): boolean {
  return /^(1|true|yes|on)$/i.test(process.env.HF_HUB_OFFLINE?.trim() ?? '');
}

/**
 * Failures the cache may stand in for, as huggingface_hub falls back to it: no answer (refused, reset,
 * timed out), a server error (5xx, 429) or an answer that is not a file list. Not: 401/403/404, which say
 * the repository or revision is gone or closed to this token.
 */
const transient = new WeakSet<Error>();

function failure(input: string, message: string, cause?: unknown): BundleError {
  return new BundleError('DOWNLOAD_FAILED', message, { input, cause });
}

function statusMessage(status: number, statusText: string): string {
  if (status === 401 || status === 403) return `HTTP ${status} ${statusText}: the repository is gated or private (set HF_TOKEN)`;
  if (status === 404) return `HTTP 404: no such repository, revision or file`;
  return `HTTP ${status} ${statusText}`;
}

async function request(url: string, options: HubOptions, headers: Record<string, string> = {}): Promise<{ response: Response; abort: AbortController; timer: () => void }> {
  const abort = new AbortController();
  const stall = options.stallTimeoutMs ?? 60_000;
  let timeout = setTimeout(() => abort.abort(new Error(`no data for ${stall / 1000} s`)), stall);
  const timer = () => {
    clearTimeout(timeout);
    timeout = setTimeout(() => abort.abort(new Error(`no data for ${stall / 1000} s`)), stall);
  };
  const token = options.token ?? process.env.HF_TOKEN;
  let response: Response;
  try {
    // fetch follows the hub's redirects to its file storage and drops the token on a cross-origin hop.
    response = await fetch(url, { redirect: 'follow', signal: abort.signal, headers: { ...headers, ...(token ? { authorization: `Bearer ${token}` } : {}) } });
  } catch (e) {
    clearTimeout(timeout);
    const error = failure(url, `request failed: ${(e as Error).message}${(e as { cause?: Error }).cause ? ` (${(e as { cause: Error }).cause.message})` : ''}`, e);
    transient.add(error);
    throw error;
  }
  const done = () => clearTimeout(timeout);
  if (!(response.ok || response.status === 206)) {
    done();
    await response.body?.cancel().catch(() => undefined);
    const error = failure(url, statusMessage(response.status, response.statusText));
    if (response.status >= 500 || response.status === 429) transient.add(error);
    throw error;
  }
  return { response, abort, timer: () => (response.body ? timer() : done()) };
}

/** The repository's files and commit at a revision: `GET {endpoint}/api/models/{repo}/revision/{rev}?blobs=true`. */
export async function hubRevision(ref: HubRef, options: HubOptions = {}): Promise<{ commit: string; files: HubFile[] }> {
  const url = `${hubEndpoint(options)}/api/models/${ref.repo}/revision/${encodeURIComponent(ref.revision)}?blobs=true`;
  const metadataTimeoutMs = options.metadataTimeoutMs ?? ((Number(process.env.HF_HUB_ETAG_TIMEOUT) || 10) * 1000);
  const { response, timer } = await request(url, { ...options, stallTimeoutMs: metadataTimeoutMs });
  let info: { sha?: unknown; siblings?: Sibling[] } | null;
  const malformed = (message: string, cause?: unknown) => {
    const error = failure(url, message, cause);
    transient.add(error);
    return error;
  };
  try {
    info = await response.json() as typeof info;
  } catch (e) {
    throw malformed(`the file list is not JSON: ${(e as Error).message}`, e);
  } finally {
    timer();
  }
  if (typeof info?.sha !== 'string' || !/^[0-9a-f]{40}$/.test(info.sha) || !Array.isArray(info.siblings)) {
    throw malformed('the file list has no commit sha or no siblings');
  }
  return {
    commit: info.sha,
    files: info.siblings.map((s) => ({
      path: s.rfilename,
      expected: s.lfs?.sha256 ? { sha256: s.lfs.sha256 } : s.blobId ? { gitSha1: s.blobId } : null,
      size: s.lfs?.size ?? s.size ?? null,
    })),
  };
}

function hashers(expected: HubFile['expected'], size: number | null) {
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

/** A file an earlier, interrupted import already downloaded whole and checked: its digest, or null. */
async function completeDownload(path: string, file: HubFile): Promise<{ sha256: string; bytes: number } | null> {
  const size = (await stat(path).catch(() => null))?.size;
  if (size === undefined || (file.size !== null && size !== file.size)) return null;
  const hash = hashers(file.expected, size);
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  const digest = hash.digest();
  const expected = file.expected;
  const matches = expected === null ? false : 'sha256' in expected ? digest.sha256 === expected.sha256 : digest.gitSha1 === expected.gitSha1;
  return matches ? { sha256: digest.sha256, bytes: size } : null;
}

/**
 * Downloads one file of the commit into `path`, resuming a previous partial download with a Range request;
 * a file already there whole (an interrupted import got that far) is checked and kept.
 */
async function downloadFile(base: string, file: HubFile, path: string, options: HubOptions): Promise<{ sha256: string; bytes: number }> {
  const done = await completeDownload(path, file);
  if (done) return done;
  const url = `${base}/${file.path.split('/').map(encodeURIComponent).join('/')}`;
  const part = `${path}.incomplete`;
  await mkdir(dirname(path), { recursive: true });
  const have = (await stat(part).catch(() => null))?.size ?? 0;
  const { response, timer } = await request(url, options, have > 0 ? { range: `bytes=${have}-` } : {});
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
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      timer();
      received += chunk.byteLength;
      if (total !== null && received > total) throw failure(url, `body is longer than the ${total} bytes the hub lists`);
      hash.update(chunk);
      if (writeError) throw writeError;
      if (!out.write(chunk)) await once(out, 'drain'); // rejects when the stream fails instead
      options.onProgress?.({ file: file.path, received, total });
    }
    await new Promise<void>((resolve, reject) => out.end((e?: Error | null) => (e ? reject(e) : resolve())));
  } catch (e) {
    // The partial file stays: the next attempt resumes from it.
    out.destroy();
    throw e instanceof BundleError ? e : failure(url, `download broke off after ${received} bytes: ${(e as Error).message} (run again to resume)`, e);
  } finally {
    timer();
  }
  const digest = hash.digest();
  const expected = file.expected;
  const bad = (total !== null && received !== total) ? `got ${received} bytes, the hub lists ${total}`
    : expected && 'sha256' in expected && digest.sha256 !== expected.sha256 ? `sha256 ${digest.sha256}, the hub lists ${expected.sha256}`
      : expected && 'gitSha1' in expected && digest.gitSha1 !== null && digest.gitSha1 !== expected.gitSha1 ? `git blob ${digest.gitSha1}, the hub lists ${expected.gitSha1}`
        : null;
  if (bad) {
    await rm(part, { force: true });
    throw new BundleError('CHECKSUM_MISMATCH', bad, { input: url });
  }
  await rename(part, path);
  return { sha256: digest.sha256, bytes: received };
}

const RECORD = '.snapshot.json';

/** A snapshot already complete in the cache (its record lists the files and their checksums). */
async function cachedSnapshot(dir: string, wanted: readonly string[]): Promise<HubSnapshot | null> {
  try {
    const record = JSON.parse(await readFile(join(dir, RECORD), 'utf8')) as HubSnapshot;
    return wanted.every((f) => record.files[f]) ? { ...record, dir } : null;
  } catch {
    return null;
  }
}

export function repoCacheDir(cacheDir: string, repo: string): string {
  return join(cacheDir, 'hub', `models--${repo.replace('/', '--')}`);
}

/**
 * Downloads the files of a hub repository that `select` picks from its file list, pinned to the commit
 * the revision resolves to, into `<cacheDir>/hub/models--OWNER--NAME/snapshots/<commit>/`. Each file is
 * checked against the hub's sha256 (LFS) or git blob id, and its sha256 recorded. A complete snapshot is
 * reused. When the hub fails (no answer, a server error, a malformed answer; not a 401/403/404) or is
 * switched off (`offline`, $HF_HUB_OFFLINE), the commit the revision last resolved to is used from the cache.
 */
export async function hubSnapshot(ref: HubRef, cacheDir: string, select: (files: HubFile[]) => HubFile[], options: HubOptions = {}): Promise<HubSnapshot> {
  const repoDir = repoCacheDir(cacheDir, ref.repo);
  const refFile = join(repoDir, 'refs', ref.revision.replace(/[^\w.-]/g, '_'));
  const lastResolved = async () => {
    const commit = await readFile(refFile, 'utf8').catch(() => null);
    return commit ? cachedSnapshot(join(repoDir, 'snapshots', commit.trim()), []) : null;
  };
  if (options.offline ?? hubOfflineFromEnv()) {
    const cached = await lastResolved();
    if (cached) return cached;
    throw new BundleError('DOWNLOAD_FAILED', `offline (HF_HUB_OFFLINE) and hf:${ref.repo}@${ref.revision} is not in the cache ${cacheDir}: import it once with the hub reachable`,
      { input: `hf:${ref.repo}` });
  }
  let listing: Awaited<ReturnType<typeof hubRevision>>;
  try {
    listing = await hubRevision(ref, options);
  } catch (e) {
    if (!transient.has(e as Error)) throw e;
    const cached = await lastResolved();
    if (!cached) throw e;
    (options.onWarning ?? ((m: string) => process.emitWarning(m, 'ClipAgiqaHubWarning')))(
      `the hub failed (${(e as Error).message}); using hf:${ref.repo}@${cached.commit} from the cache`);
    return cached;
  }
  const wanted = select(listing.files);
  const dir = join(repoDir, 'snapshots', listing.commit);
  const cached = await cachedSnapshot(dir, wanted.map((f) => f.path));
  if (!cached) {
    const base = `${hubEndpoint(options)}/${ref.repo}/resolve/${listing.commit}`;
    const files: HubSnapshot['files'] = {};
    for (const file of wanted) files[file.path] = await downloadFile(base, file, resolveInside(dir, file.path), options);
    const record: HubSnapshot = { repo: ref.repo, commit: listing.commit, dir, files };
    await writeFile(join(dir, RECORD), JSON.stringify(record, null, 2));
  }
  await mkdir(dirname(refFile), { recursive: true });
  await writeFile(refFile, listing.commit);
  return cached ?? { repo: ref.repo, commit: listing.commit, dir, files: JSON.parse(await readFile(join(dir, RECORD), 'utf8')).files as HubSnapshot['files'] };
}
