import { decideWire, type ModelInfo, type PolicyMode, type ScoreOutcome, type WireError } from '@clip-agiqa/core';

import type { WebhookJob } from './generated/webhook-job.js';
import type { WebhookVerdict } from './generated/webhook-verdict.js';

export type Policy = WebhookJob['policy'];
type CandidateVerdict = WebhookVerdict['candidates'][number];

/** The event type of a verdict: what a receiver should do next. */
function eventType(mode: PolicyMode, scored: number, passed: number, candidates: number): WebhookVerdict['type'] {
  switch (mode) {
    case 'best-of': return scored ? 'bestof.selected' : 'quality.rejected';
    case 'reroll-if-none-pass': return passed ? 'quality.scored' : 'reroll.requested';
    case 'filter': return passed < candidates ? 'quality.rejected' : 'quality.scored';
    default: return 'quality.scored';
  }
}

/**
 * The verdict on scored candidates: core's decision on the job's policy (its mode under the current
 * name, deprecated spellings included; rank by the policy's head, the model's first by default, the
 * right way round for that head, or by its combination) written in the webhook's wire format. Failed
 * candidates never pass and carry their error; a scored one that did not pass carries the reasons
 * (bars missed, or why it could not be ranked). The policy is echoed as the job sent it.
 */
export function makeVerdict(job: WebhookJob, ids: string[], outcomes: (ScoreOutcome | { error: WireError })[], model: ModelInfo): WebhookVerdict {
  const { mode, decision, threshold, missed } = decideWire(outcomes, job.policy, model.heads);
  const rankOf = new Map(decision.order.map((i, r) => [i, r + 1]));
  const passing = new Set(decision.passed);
  const candidates: CandidateVerdict[] = outcomes.map((o, i) => {
    if ('error' in o) return { id: ids[i]!, passed: false, error: { code: o.error.code, message: o.error.message } };
    return { id: ids[i]!, scores: o.scores, passed: passing.has(i), ...(rankOf.has(i) ? { rank: rankOf.get(i)! } : {}), ...(missed[i]!.length ? { reasons: missed[i]! } : {}) };
  });
  const order = decision.order.map((i) => ids[i]!);
  const passed = decision.passed.map((i) => ids[i]!);
  return {
    type: eventType(mode, order.length, passed.length, candidates.length), job_id: job.job_id, policy: { ...job.policy },
    model: { name: model.name, untrained: model.untrained }, candidates, passed, order,
    ...(mode === 'best-of' && order.length ? { winner: order[0]! } : {}),
    ...(threshold === undefined ? {} : { threshold }),
    ...(job.metadata ? { metadata: job.metadata } : {}),
  };
}
