import { decide, type ModelInfo, type ScoreOutcome } from '@clip-agiqa/core';

import type { WebhookJob } from './generated/webhook-job.js';
import type { WebhookVerdict } from './generated/webhook-verdict.js';

export type Policy = WebhookJob['policy'];
type CandidateVerdict = WebhookVerdict['candidates'][number];

/**
 * The verdict on scored candidates: the job's policy translated to core's decision (rank by the
 * policy's head, the model's first by default, the right way round for that head; pass when every
 * threshold is reached) and the result written in the webhook's wire format. Failed candidates
 * never pass and carry their error.
 */
export function makeVerdict(job: WebhookJob, ids: string[], outcomes: (ScoreOutcome | { error: { code: string; message: string } })[], model: ModelInfo): WebhookVerdict {
  const policy = job.policy;
  const thresholds = Object.fromEntries(Object.entries(policy.thresholds ?? {}).filter((e): e is [string, number] => e[1] !== undefined));
  const decision = decide(outcomes, { ...(policy.head ? { head: policy.head } : {}), thresholds }, model.heads);
  const rankOf = new Map(decision.order.map((i, r) => [i, r + 1]));
  const passing = new Set(decision.passed);
  const candidates: CandidateVerdict[] = outcomes.map((o, i) => {
    if ('error' in o) return { id: ids[i]!, passed: false, error: { code: o.error.code, message: o.error.message } };
    return { id: ids[i]!, scores: o.scores, passed: passing.has(i), ...(rankOf.has(i) ? { rank: rankOf.get(i)! } : {}) };
  });
  const order = decision.order.map((i) => ids[i]!);
  const passed = decision.passed.map((i) => ids[i]!);
  const type: WebhookVerdict['type'] =
    policy.mode === 'best-of-n' ? (order.length ? 'bestof.selected' : 'quality.rejected')
      : policy.mode === 'reroll-if-none-pass' ? (passed.length ? 'quality.scored' : 'reroll.requested')
        : policy.mode === 'filter' && passed.length < candidates.length ? 'quality.rejected' : 'quality.scored';
  return {
    type, job_id: job.job_id, policy: { ...policy }, model: { name: model.name, untrained: model.untrained }, candidates, passed, order,
    ...(policy.mode === 'best-of-n' && order.length ? { winner: order[0]! } : {}),
    ...(job.metadata ? { metadata: job.metadata } : {}),
  };
}
