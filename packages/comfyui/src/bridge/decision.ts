import { ClipAgiqaError, type ModelInfo, type ScoreOutcome } from '@clip-agiqa/core';

import type { BridgePolicy } from '../generated/bridge-client-message.js';
import type { BridgeResult } from '../generated/bridge-server-message.js';

/** A policy the model cannot apply: unknown head, missing threshold or k. */
export class PolicyError extends ClipAgiqaError<'BAD_POLICY'> {
  constructor(message: string) {
    super('BAD_POLICY', message);
  }
}

/** The value at percentile p (0-100) of xs, interpolating linearly between order statistics (numpy's default). */
export function percentile(xs: readonly number[], p: number): number {
  const sorted = [...xs].sort((a, b) => a - b);
  const pos = (Math.min(100, Math.max(0, p)) / 100) * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

/** Checks a policy against the model before any image is read. */
export function checkPolicy(policy: BridgePolicy, model: ModelInfo): void {
  if (policy.head && !model.heads.some((h) => h.name === policy.head)) {
    throw new PolicyError(`the model has no head ${policy.head} (it has ${model.heads.map((h) => h.name).join(', ')})`);
  }
  if (policy.mode === 'gate' && policy.threshold === undefined) throw new PolicyError('a gate needs a threshold');
  if (policy.mode === 'gate' && policy.threshold_kind === 'percentile' && (policy.threshold! < 0 || policy.threshold! > 100)) {
    throw new PolicyError('a percentile threshold lies in 0-100');
  }
  if (policy.mode === 'best-of' && policy.k === undefined) throw new PolicyError('best-of needs k');
}

/** What the policy decides about scored images (outcomes in request order, ids = their indices). */
export function decide(policy: BridgePolicy, outcomes: ScoreOutcome[], model: ModelInfo): BridgeResult['decision'] {
  const head = model.heads.find((h) => h.name === (policy.head ?? model.heads[0]!.name))!;
  const score = (i: number) => (outcomes[i] as { scores: Record<string, number> }).scores[head.name]!;
  const scored = outcomes.flatMap((o, i) => ('scores' in o ? [i] : []));
  const sign = head.higherIsBetter ? -1 : 1;
  const order = [...scored].sort((a, b) => sign * (score(a) - score(b)) || a - b);
  let passed: number[];
  let threshold: number | undefined;
  if (policy.mode === 'gate') {
    threshold = policy.threshold_kind === 'percentile' ? (scored.length ? percentile(scored.map(score), policy.threshold!) : Infinity) : policy.threshold!;
    passed = scored.filter((i) => (head.higherIsBetter ? score(i) >= threshold! : score(i) <= threshold!));
  } else if (policy.mode === 'best-of') {
    passed = order.slice(0, policy.k);
  } else {
    passed = scored;
  }
  const kept = new Set(passed);
  return {
    head: head.name, order, passed, rejected: outcomes.map((_, i) => i).filter((i) => !kept.has(i)),
    ...(threshold !== undefined && Number.isFinite(threshold) ? { threshold } : {}),
  };
}
