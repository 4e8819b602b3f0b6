import type { RawPixels, Scorer, ScoreOutcome } from '@clip-agiqa/core';

import type { WebhookJob } from '../generated/webhook-job.js';
import type { WebhookVerdict } from '../generated/webhook-verdict.js';
import { splitGrid, type FailedImage } from '../grid.js';
import type { Metrics } from '../metrics.js';
import { makeVerdict } from '../verdict.js';
import { candidateId, verdictIds } from './candidate-ids.js';
import { collectAfterDecode } from './collect-garbage.js';
import type { FairGate } from './fair-gate.js';
import { MemoryBudget, type Reservation } from './memory-budget.js';
import { scoringCost } from './memory-cost.js';
import type { ScoringInput } from './scoring-input.js';
import type { VerdictEvents } from './verdict-events.js';

export type { ScoringInput } from './scoring-input.js';

export interface ScoreOptions {
  /** How long a synchronous request may wait for memory and a scoring slot (then 503); queued jobs wait their turn. */
  waitMs: number;
  /** The hook route the job came in on: slots are shared fairly between routes, and status pages group verdicts by it. */
  route?: string;
  /** A synchronous request (a sender waits on the answer): it goes ahead of queued jobs. */
  sync?: boolean;
}

/** Where every job is scored, synchronous or queued, local or on a cluster worker. */
export interface JobScorer {
  /** Scores a job's images into its verdict. */
  score(job: WebhookJob, images: ScoringInput[], options: ScoreOptions): Promise<WebhookVerdict>;
}

const isFailed = (x: ScoringInput): x is FailedImage => 'code' in x;

type Planned = { id: string; ids: string[]; grid: boolean; prompt: string | undefined; input: ScoringInput; cost: number; error: FailedImage | null };
type Part = { ids: string[]; outcomes: (ScoreOutcome | { error: FailedImage })[] };

/**
 * Scores jobs in the slots of `gate`. Before any of its candidates is decoded, a job is admitted to the
 * memory budget with room for its largest candidate (encoded bytes plus what decoding takes, see
 * memory-cost.ts), more when the budget's share per slot allows candidates side by side; that is the
 * only point where it waits or is refused (MEMORY_BUSY), so no job is turned away half scored. A
 * candidate that could never fit fails alone with OVER_MEMORY_BUDGET. Grids become four candidates
 * `<id>-1`...`<id>-4`. Each verdict is told to `events`.
 */
export function jobScorer(scorer: Scorer, gate: FairGate, metrics: Metrics, budget: MemoryBudget, events?: VerdictEvents): JobScorer {
  async function decodeAndScore({ id, ids, input, grid, prompt }: Planned & { input: Exclude<ScoringInput, FailedImage> }): Promise<Part> {
    try {
      const bytes = await input.load();
      const images: (Buffer | RawPixels | FailedImage)[] = grid ? await splitGrid(bytes, id, scorer) : [bytes];
      const usable = images.flatMap((im, k) => ('code' in im ? [] : [{ id: ids[k]!, image: im, ...(prompt === undefined ? {} : { prompt }) }]));
      const scored = usable.length ? await scorer.score(usable) : [];
      let k = 0;
      return { ids, outcomes: images.map((im) => ('code' in im ? { error: im } : scored[k++]!)) };
    } catch (e) {
      const err = e as { code?: string; message: string };
      return { ids, outcomes: ids.map(() => ({ error: { code: err.code ?? 'DECODE_FAILED', message: err.message } })) };
    }
  }

  async function scoreCandidate(p: Planned & { input: Exclude<ScoringInput, FailedImage> }, room: MemoryBudget): Promise<Part> {
    const hold = await room.reserve(p.cost);
    try {
      return await decodeAndScore(p);
    } finally {
      // The decoded pixels are garbage now; the room is given back once they are collected.
      collectAfterDecode(p.cost);
      hold.release();
    }
  }

  /** The job's room in the budget: its largest candidate, up to a slot's share when it has more to score side by side. */
  function roomFor(costs: number[]): number {
    const largest = Math.max(...costs);
    const all = costs.reduce((a, b) => a + b, 0);
    return Math.max(largest, Math.min(all, Math.floor(budget.total / gate.capacity)));
  }

  async function scoreAll(job: WebhookJob, images: ScoringInput[], o: ScoreOptions): Promise<Part[]> {
    const ids = verdictIds(job);
    const plan = job.candidates.map((cand, i): Planned => {
      const id = candidateId(job, i);
      const grid = cand.grid === '2x2';
      const input = images[i]!;
      const cost = isFailed(input) ? 0 : scoringCost(input, grid);
      const error: FailedImage | null = isFailed(input) ? input : cost > budget.total
        ? { code: 'OVER_MEMORY_BUDGET', message: `candidate ${id} needs ${cost} bytes to decode, more than the whole memory budget (${budget.total}); raise limits.memory_bytes` } : null;
      return { id, ids: ids[i]!, grid, prompt: cand.prompt ?? job.prompt, input, cost, error };
    });
    const fit = plan.filter((p) => !p.error);
    let admitted: Reservation | null = null;
    if (fit.length) admitted = await budget.reserve(roomFor(fit.map((p) => p.cost)), { waitMs: o.waitMs, sync: o.sync, what: `job ${job.job_id}` });
    try {
      return await gate.run({ sync: o.sync ?? false, route: o.route ?? '', waitMs: o.waitMs }, () => {
        const room = new MemoryBudget(admitted?.bytes ?? 1);
        return Promise.all(plan.map((p) => (p.error ? { ids: p.ids, outcomes: p.ids.map(() => ({ error: p.error! })) }
          : scoreCandidate(p as Planned & { input: Exclude<ScoringInput, FailedImage> }, room))));
      });
    } finally {
      admitted?.release();
    }
  }

  async function score(job: WebhookJob, images: ScoringInput[], o: ScoreOptions): Promise<WebhookVerdict> {
    const started = performance.now();
    try {
      const parts = await scoreAll(job, images, o);
      metrics.scoringSeconds.observe((performance.now() - started) / 1000);
      const verdict = makeVerdict(job, parts.flatMap((p) => p.ids), parts.flatMap((p) => p.outcomes), scorer.model);
      metrics.verdicts.inc({ type: verdict.type });
      events?.emit('verdict', { job, images, route: o.route, verdict });
      return verdict;
    } finally {
      for (const input of images) if (!isFailed(input)) input.done?.();
    }
  }

  return { score };
}
