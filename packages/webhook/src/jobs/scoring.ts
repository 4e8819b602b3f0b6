import type { Scorer, ScoreOutcome } from '@clip-agiqa/core';
import { Semaphore } from '@clip-agiqa/core/internal';

import type { WebhookJob } from '../generated/webhook-job.js';
import type { WebhookVerdict } from '../generated/webhook-verdict.js';
import { expandGrids, type CandidateImage, type FailedImage } from '../grid.js';
import type { Metrics } from '../metrics.js';
import { makeVerdict } from '../verdict.js';

const isImage = <T>(im: T | FailedImage): im is T => Buffer.isBuffer(im) || (typeof im === 'object' && im !== null && 'data' in im);

/** Scores a job's images; `route` names the hook route it came in on (status pages group verdicts by it). */
export type ScoreJob = (job: WebhookJob, images: CandidateImage[], route?: string) => Promise<WebhookVerdict>;

/** Scores jobs, at most `concurrency` at once: grids split, failed images kept as failed candidates, the verdict made. */
export function jobScorer(scorer: Scorer, concurrency: number, metrics: Metrics): ScoreJob {
  const slots = new Semaphore(concurrency);
  return async (job, candidateImages) => {
    const started = performance.now();
    const { ids, outcomes } = await slots.run(async () => {
      const expanded = await expandGrids(job.candidates.map((cand, i) => cand.id ?? String(i)), candidateImages, job.candidates.map((cand) => cand.grid), scorer);
      const inputs = expanded.images.flatMap((im, i) => (isImage(im) ? [{ id: expanded.ids[i]!, image: im }] : []));
      const scored = inputs.length ? await scorer.score(inputs) : [];
      let k = 0;
      return { ids: expanded.ids, outcomes: expanded.images.map((im): ScoreOutcome | { error: FailedImage } => (isImage(im) ? scored[k++]! : { error: im })) };
    });
    metrics.observeScoring((performance.now() - started) / 1000);
    const verdict = makeVerdict(job, ids, outcomes, scorer.model);
    metrics.inc('clip_agiqa_verdicts_total', { type: verdict.type });
    return verdict;
  };
}
