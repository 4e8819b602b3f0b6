import { HttpError, type FetchError } from '../errors.js';
import type { WebhookJob } from '../generated/webhook-job.js';
import type { Log } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { JobRecord, JobStore } from '../store/job-store.js';
import type { HeldImage, ImageSource } from './images.js';
import type { JobScorer, ScoringInput } from './scoring.js';

/** What fetching and scoring a stored job needs, whichever queue hands the job over. */
export interface JobWork {
  store: JobStore;
  /** Downloads (within the memory budget) and header reads. */
  images: Pick<ImageSource, 'download' | 'pixels'>;
  scorer: JobScorer;
  log: Log;
  metrics: Metrics;
  /** Fires when the service stops waiting for work in progress (the end of a shutdown's grace). */
  stopping?: AbortSignal;
}

/** Where accepted asynchronous jobs go: the in-process queue, or the shared one. */
export interface AcceptQueue {
  /** Jobs waiting or being scored. */
  depth(): number | Promise<number>;
  /** Takes a job already in the store; resolves once the job is queued (before the answer). */
  enqueue(record: JobRecord): void | Promise<void>;
}

/**
 * Downloads a job's URL images into blobs (a refused or failed download is kept as that candidate's
 * error), then stores the record. A download cut short by `w.stopping` (a shutdown) is not an error of
 * the job: nothing is recorded, and the next run downloads it again.
 */
export async function fetchCandidates(w: JobWork, rec: JobRecord): Promise<void> {
  const missing = rec.job.candidates.flatMap((cand, i) => (!rec.blobs[i] && !rec.fetchErrors[i] && cand.url ? [i] : []));
  if (missing.length === 0) return;
  const sizes = rec.sizes ?? rec.blobs.map(() => null);
  await Promise.all(missing.map(async (i) => {
    try {
      // The download holds its bytes in the memory budget only until they are stored.
      const image = await w.images.download(rec.job.candidates[i]!.url!, { sync: false, route: rec.route });
      try {
        rec.blobs[i] = await w.store.putBlob(rec.id, i, image.bytes);
        sizes[i] = { bytes: image.bytes.length, pixels: image.pixels };
      } finally {
        image.release();
      }
    } catch (e) {
      if (w.stopping?.aborted) return;
      const err = e as FetchError;
      rec.fetchErrors[i] = { code: err.code ?? 'NETWORK', message: err.message };
      w.log({ level: 'warn', msg: err.code === 'BLOCKED_ADDRESS' ? 'refused image URL (SSRF guard)' : 'image fetch failed', job_id: rec.id, candidate: i, error: err.message });
      w.metrics.fetchFailures.inc({ code: err.code ?? 'NETWORK' });
    }
  }));
  w.stopping?.throwIfAborted();
  rec.sizes = sizes;
  await w.store.update({ ...rec, updatedAt: Date.now() });
}

/** An image's pixel count from its header, or why it cannot be had. */
export async function measured(w: Pick<JobWork, 'images'>, bytes: Buffer, name: string): Promise<number | { code: string; message: string }> {
  try {
    return await w.images.pixels(bytes, name);
  } catch (e) {
    const err = e as FetchError;
    return { code: err.code, message: err.message };
  }
}

/**
 * Scores a queued job whose images are in (blobs or fetch errors), stores the verdict and drops the
 * blobs; returns the scored record, or null when the job is not queued (already scored: a retry).
 * A fired `signal` stops it before the verdict is stored.
 */
export async function scoreStoredJob(w: JobWork, id: string, signal?: AbortSignal): Promise<JobRecord | null> {
  const current = await w.store.get(id);
  if (!current || current.state !== 'queued') return null;
  const images = await Promise.all(current.job.candidates.map(async (_cand, i): Promise<ScoringInput> => {
    const blob = current.blobs[i];
    if (!blob) return current.fetchErrors[i] ?? { code: 'MISSING', message: 'no image' };
    const load = () => w.store.readBlob(blob);
    const known = current.sizes?.[i];
    if (known) return { ...known, load };
    const bytes = await load(); // stored without its size (by an earlier version)
    const pixels = await measured(w, bytes, `candidate ${i}`);
    return typeof pixels === 'number' ? { bytes: bytes.length, pixels, load } : pixels;
  }));
  signal?.throwIfAborted();
  const verdict = await w.scorer.score(current.job, images, { waitMs: Infinity, route: current.route, sync: false });
  signal?.throwIfAborted();
  const next: JobRecord = { ...current, state: 'scored', verdict, updatedAt: Date.now(), delivery: { ...current.delivery, nextAt: Date.now() } };
  await w.store.update(next);
  await w.store.dropBlobs(next);
  w.log({ level: 'info', msg: 'job scored', job_id: id, verdict: verdict.type });
  return next;
}

/**
 * A synchronous request's images: inline bytes measured, URLs downloaded now within the memory budget
 * and the download slots (waiting up to `waitMs` for each; a failed download is that candidate's error,
 * a full budget or busy slots refuse the request).
 */
export async function syncInputs(w: Pick<JobWork, 'images' | 'log'>, job: WebhookJob, inline: (Buffer | null)[], waitMs: number, route: string): Promise<ScoringInput[]> {
  const settled = await Promise.allSettled(job.candidates.map(async (cand, i): Promise<ScoringInput> => {
    const bytes = inline[i];
    if (bytes) {
      const pixels = await measured(w, bytes, `candidate ${cand.id ?? i}`);
      return typeof pixels === 'number' ? { bytes: bytes.length, pixels, load: async () => bytes } : pixels;
    }
    let image: HeldImage;
    try {
      image = await w.images.download(cand.url!, { sync: true, route, waitMs });
    } catch (e) {
      if (e instanceof HttpError) throw e; // the memory budget or the download slots: the whole request is answered with it
      const err = e as FetchError;
      if (err.code === 'BLOCKED_ADDRESS') w.log({ level: 'warn', msg: 'refused image URL (SSRF guard)', job_id: job.job_id, candidate: i, error: err.message, detail: err.detail });
      return { code: err.code ?? 'NETWORK', message: err.message };
    }
    return { bytes: image.bytes.length, pixels: image.pixels, load: async () => image.bytes, done: () => image.release() };
  }));
  const refusal = settled.find((s) => s.status === 'rejected');
  if (refusal) {
    for (const s of settled) if (s.status === 'fulfilled' && !('code' in s.value)) s.value.done?.();
    throw (refusal as PromiseRejectedResult).reason;
  }
  return settled.map((s) => (s as PromiseFulfilledResult<ScoringInput>).value);
}
