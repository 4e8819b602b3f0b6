import type { Semaphore } from '@clip-agiqa/core/internal';

import type { FetchError } from '../errors.js';
import type { CandidateImage } from '../grid.js';
import type { Log } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { WebhookJob } from '../generated/webhook-job.js';
import type { JobRecord, JobStore } from '../store/job-store.js';
import type { ImageFetcher } from './images.js';
import type { ScoreJob } from './scoring.js';

/** What fetching and scoring a stored job needs, whichever queue hands the job over. */
export interface JobWork {
  store: JobStore;
  fetchImage: ImageFetcher;
  score: ScoreJob;
  /** Bounds the downloads in progress. */
  fetching: Semaphore;
  log: Log;
  metrics: Metrics;
  /** Fires when the service stops waiting for work in progress (the end of a shutdown's grace). */
  stopping?: AbortSignal;
}

/**
 * Downloads a job's URL images into blobs (a refused or failed download is kept as that candidate's
 * error), then stores the record. A download cut short by `w.stopping` (a shutdown) is not an error of
 * the job: nothing is recorded, and the next run downloads it again.
 */
export async function fetchCandidates(w: JobWork, rec: JobRecord): Promise<void> {
  const missing = rec.job.candidates.flatMap((cand, i) => (!rec.blobs[i] && !rec.fetchErrors[i] && cand.url ? [i] : []));
  if (missing.length === 0) return;
  await Promise.all(missing.map((i) => w.fetching.run(async () => {
    try {
      rec.blobs[i] = await w.store.putBlob(rec.id, i, await w.fetchImage(rec.job.candidates[i]!.url!));
    } catch (e) {
      if (w.stopping?.aborted) return;
      const err = e as FetchError;
      rec.fetchErrors[i] = { code: err.code ?? 'NETWORK', message: err.message };
      w.log({ level: 'warn', msg: err.code === 'BLOCKED_ADDRESS' ? 'refused image URL (SSRF guard)' : 'image fetch failed', job_id: rec.id, candidate: i, error: err.message });
      w.metrics.inc('clip_agiqa_fetch_failures_total', { code: err.code ?? 'NETWORK' });
    }
  })));
  w.stopping?.throwIfAborted();
  await w.store.update({ ...rec, updatedAt: Date.now() });
}

/**
 * Scores a queued job whose images are in (blobs or fetch errors), stores the verdict and drops the
 * blobs; returns the scored record, or null when the job is not queued (already scored: a retry).
 * A fired `signal` stops it before the verdict is stored.
 */
export async function scoreStoredJob(w: JobWork, id: string, signal?: AbortSignal): Promise<JobRecord | null> {
  const current = await w.store.get(id);
  if (!current || current.state !== 'queued') return null;
  const images: CandidateImage[] = [];
  for (const [i] of current.job.candidates.entries()) {
    const blob = current.blobs[i];
    images.push(blob ? await w.store.readBlob(blob) : current.fetchErrors[i] ?? { code: 'MISSING', message: 'no image' });
  }
  signal?.throwIfAborted();
  const verdict = await w.score(current.job, images, current.route);
  signal?.throwIfAborted();
  const next: JobRecord = { ...current, state: 'scored', verdict, updatedAt: Date.now(), delivery: { ...current.delivery, nextAt: Date.now() } };
  await w.store.update(next);
  await w.store.dropBlobs(next);
  w.log({ level: 'info', msg: 'job scored', job_id: id, verdict: verdict.type });
  return next;
}

/** Where accepted asynchronous jobs go: the in-process queue, or the shared one. */
export interface AcceptQueue {
  /** Jobs waiting or being scored. */
  depth(): number | Promise<number>;
  /** Takes a job already in the store; resolves once the job is queued (before the 202). */
  enqueue(record: JobRecord): void | Promise<void>;
}

/** A synchronous request's images: inline bytes as they are, URLs downloaded now (a failed download is that candidate's error). */
export function gatherImages(w: Pick<JobWork, 'fetchImage' | 'log'>, job: WebhookJob, inline: (Buffer | null)[]): Promise<CandidateImage[]> {
  return Promise.all(job.candidates.map(async (cand, i) => {
    if (inline[i]) return inline[i];
    try {
      return await w.fetchImage(cand.url!);
    } catch (e) {
      const err = e as FetchError;
      if (err.code === 'BLOCKED_ADDRESS') w.log({ level: 'warn', msg: 'refused image URL (SSRF guard)', job_id: job.job_id, candidate: i, error: err.message });
      return { code: err.code ?? 'NETWORK', message: err.message };
    }
  }));
}
