import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

import { BundleError, UsageError } from '../../errors.js';
import { downloadVerified, fetchFailure, isTransient, request, type Expected, type FetchOptions } from '../fetch-verified.js';
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
  expected: Expected | null;
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

function statusMessage(status: number, statusText: string): string {
  if (status === 401 || status === 403) return `HTTP ${status} ${statusText}: the repository is gated or private (set HF_TOKEN)`;
  if (status === 404) return `HTTP 404: no such repository, revision or file`;
  return `HTTP ${status} ${statusText}`;
}

/** Requests as huggingface_hub makes them: the token when there is one, the hub's words for refusals. */
function hubFetch(options: HubOptions, stallTimeoutMs = options.stallTimeoutMs): FetchOptions {
  const token = options.token ?? process.env.HF_TOKEN;
  return { statusMessage, ...(stallTimeoutMs !== undefined ? { stallTimeoutMs } : {}), ...(token ? { headers: { authorization: `Bearer ${token}` } } : {}) };
}

/** The repository's files and commit at a revision: `GET {endpoint}/api/models/{repo}/revision/{rev}?blobs=true`. */
export async function hubRevision(ref: HubRef, options: HubOptions = {}): Promise<{ commit: string; files: HubFile[] }> {
  const url = `${hubEndpoint(options)}/api/models/${ref.repo}/revision/${encodeURIComponent(ref.revision)}?blobs=true`;
  const metadataTimeoutMs = options.metadataTimeoutMs ?? ((Number(process.env.HF_HUB_ETAG_TIMEOUT) || 10) * 1000);
  const { response, done } = await request(url, hubFetch(options, metadataTimeoutMs));
  let info: { sha?: unknown; siblings?: Sibling[] } | null;
  const malformed = (message: string, cause?: unknown) => fetchFailure(url, message, { cause, transient: true });
  try {
    info = await response.json() as typeof info;
  } catch (e) {
    throw malformed(`the file list is not JSON: ${(e as Error).message}`, e);
  } finally {
    done();
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

/** One file of the commit into `path`, resumed when an earlier download broke off, kept when already there whole. */
function downloadFile(base: string, file: HubFile, path: string, options: HubOptions) {
  const url = `${base}/${file.path.split('/').map(encodeURIComponent).join('/')}`;
  return downloadVerified(url, path, file, 'the hub', {
    ...hubFetch(options),
    ...(options.onProgress ? { onBytes: (received: number, total: number | null) => options.onProgress!({ file: file.path, received, total }) } : {}),
  });
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
    if (!isTransient(e)) throw e;
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
