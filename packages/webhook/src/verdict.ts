import type { ModelInfo, ScoreOutcome } from '@clip-agiqa/core';

import type { WebhookJob } from './generated/webhook-job.js';
import type { WebhookVerdict } from './generated/webhook-verdict.js';

export type Policy = WebhookJob['policy'];
type CandidateVerdict = WebhookVerdict['candidates'][number];

/**
 * The verdict on scored candidates. Candidates rank by the policy's head (the model's first by
 * default); a candidate passes when it was scored and reaches every threshold (>= for heads where
 * higher is better, <= otherwise). Failed candidates never pass and carry their error.
 */
export function makeVerdict(job: WebhookJob, ids: string[], outcomes: (ScoreOutcome | { error: { code: string; message: string } })[], model: ModelInfo): WebhookVerdict {
  const policy = job.policy;
  const head = model.heads.find((h) => h.name === (policy.head ?? model.heads[0]!.name)) ?? model.heads[0]!;
  const better = (h: string) => model.heads.find((x) => x.name === h)?.higherIsBetter ?? true;
  const candidates: CandidateVerdict[] = outcomes.map((o, i) => {
    if ('error' in o) return { id: ids[i]!, passed: false, error: { code: o.error.code, message: o.error.message } };
    const thresholds = Object.entries(policy.thresholds ?? {});
    const passed = thresholds.every(([h, t]) => {
      const s = o.scores[h];
      return s !== undefined && t !== undefined && (better(h) ? s >= t : s <= t);
    });
    return { id: ids[i]!, scores: o.scores, passed };
  });
  const scored = candidates.filter((c) => c.scores).map((c, k) => ({ c, k }));
  const sign = head.higherIsBetter ? -1 : 1;
  scored.sort((a, b) => sign * (a.c.scores![head.name]! - b.c.scores![head.name]!) || a.k - b.k);
  scored.forEach(({ c }, r) => { c.rank = r + 1; });
  const order = scored.map(({ c }) => c.id);
  const passed = scored.filter(({ c }) => c.passed).map(({ c }) => c.id);
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

