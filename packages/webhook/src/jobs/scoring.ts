import type { RawPixels, Scorer, ScoreOutcome } from '@clip-agiqa/core';
import { Semaphore } from '@clip-agiqa/core/internal';

import type { WebhookJob } from '../generated/webhook-job.js';
import type { WebhookVerdict } from '../generated/webhook-verdict.js';
import { splitGrid, type FailedImage } from '../grid.js';
import type { Metrics } from '../metrics.js';
import { makeVerdict } from '../verdict.js';
import type { MemoryBudget } from './memory-budget.js';

/** A candidate's image as scoring takes it: failed already, or its size (known from the header) and how to get its bytes. */
export type ScoringInput = FailedImage | {
  /** Encoded size in bytes. */
  bytes: number;
  pixels: number;
  load(): Promise<Buffer>;
  /** Called once the candidate is scored (gives back what holding its bytes cost). */
  done?(): void;
};

/**
 * Scores a job's images. `waitMs`: how long a candidate may wait for room in the memory budget;
 * `route`: the hook route the job came in on (status pages group verdicts by it).
 */
export type ScoreJob = (job: WebhookJob, images: ScoringInput[], options: { waitMs: number; route?: string }) => Promise<WebhookVerdict>;

const isFailed = (x: ScoringInput): x is FailedImage => 'code' in x;

/**
 * Scores jobs, at most `concurrency` at once. Each candidate first reserves what decoding it costs
 * (encoded bytes + 3 bytes a pixel, twice for a 2x2 grid and its crops) in the memory budget, so
 * candidates of all jobs together stay within it; grids become four candidates `<id>-1`...`<id>-4`.
 */
export function jobScorer(scorer: Scorer, concurrency: number, metrics: Metrics, budget: MemoryBudget): ScoreJob {
  const slots = new Semaphore(concurrency);

  async function scoreCandidate(id: string, input: ScoringInput, grid: boolean, waitMs: number): Promise<{ ids: string[]; outcomes: (ScoreOutcome | { error: FailedImage })[] }> {
    const ids = grid ? [1, 2, 3, 4].map((k) => `${id}-${k}`) : [id];
    const failed = (error: FailedImage) => ({ ids, outcomes: ids.map(() => ({ error })) });
    if (isFailed(input)) return failed(input);
    try {
      const hold = await budget.reserve(input.bytes + input.pixels * 3 * (grid ? 2 : 1), waitMs, `candidate ${id}`);
      try {
        const bytes = await input.load();
        const images: (Buffer | RawPixels | FailedImage)[] = grid ? await splitGrid(bytes, id, scorer) : [bytes];
        const usable = images.flatMap((im, k) => ('code' in im ? [] : [{ id: ids[k]!, image: im }]));
        const scored = usable.length ? await scorer.score(usable) : [];
        let k = 0;
        return { ids, outcomes: images.map((im) => ('code' in im ? { error: im } : scored[k++]!)) };
      } finally {
        hold.release();
      }
    } catch (e) {
      const err = e as { code?: string; message: string; status?: number };
      if (err.code === 'MEMORY_BUSY') throw e; // the whole job waits for a later try
      return failed({ code: err.code ?? 'DECODE_FAILED', message: err.message });
    } finally {
      input.done?.();
    }
  }

  return async (job, images, { waitMs }) => {
    const started = performance.now();
    const parts = await slots.run(() => Promise.all(job.candidates.map((cand, i) => scoreCandidate(cand.id ?? String(i), images[i]!, cand.grid === '2x2', waitMs))));
    metrics.scoringSeconds.observe((performance.now() - started) / 1000);
    const verdict = makeVerdict(job, parts.flatMap((p) => p.ids), parts.flatMap((p) => p.outcomes), scorer.model);
    metrics.verdicts.inc({ type: verdict.type });
    return verdict;
  };
}
