import { ClipAgiqaError, decide as decideWith, type ModelInfo, type Policy, type ScoreOutcome } from '@clip-agiqa/core';

import type { BridgePolicy } from '../generated/bridge-client-message.js';
import type { BridgeResult } from '../generated/bridge-server-message.js';

/** A policy the model cannot apply: unknown head, missing threshold or k. */
export class PolicyError extends ClipAgiqaError<'BAD_POLICY'> {
  constructor(message: string) {
    super('BAD_POLICY', message);
  }
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

/** The bridge's policy in core's terms: a gate is a threshold (or a batch percentile), best-of k the top k. */
export function toPolicy(policy: BridgePolicy): Policy {
  const head = policy.head === undefined ? {} : { head: policy.head };
  if (policy.mode === 'gate') return { ...head, ...(policy.threshold_kind === 'percentile' ? { percentile: policy.threshold! } : { threshold: policy.threshold! }) };
  if (policy.mode === 'best-of') return { ...head, topK: policy.k! };
  return head;
}

/** What the policy decides about scored images (outcomes in request order, ids = their indices). */
export function decide(policy: BridgePolicy, outcomes: ScoreOutcome[], model: ModelInfo): BridgeResult['decision'] {
  const d = decideWith(outcomes, toPolicy(policy), model.heads);
  // The wire lists best-of's keepers best first, a gate's (and plain scoring's) in request order.
  const passed = policy.mode === 'best-of' ? d.passed : [...d.passed].sort((a, b) => a - b);
  const threshold = policy.mode === 'gate' ? (policy.threshold_kind === 'percentile' ? d.percentileBar : policy.threshold) : undefined;
  return { head: d.head, order: d.order, passed, rejected: d.rejected, ...(threshold === undefined ? {} : { threshold }) };
}
