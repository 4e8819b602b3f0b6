import { ClipAgiqaError, decide as decideWith, fromWirePolicy, type ModelInfo, type ScoreOutcome, type WirePolicy } from '@clip-agiqa/core';

import type { BridgeResult } from '../generated/bridge-server-message.js';

/** The policy of a bridge request: the shared wire policy. */
export type BridgePolicy = WirePolicy;

/** A policy the model cannot apply: unknown head, missing threshold or k. */
export class PolicyError extends ClipAgiqaError<'BAD_POLICY'> {
  constructor(message: string) {
    super('BAD_POLICY', message);
  }
}

/** Checks a policy against the model before any image is read. */
export function checkPolicy(wire: BridgePolicy, model: ModelInfo): void {
  const { mode } = fromWirePolicy(wire);
  for (const head of [wire.head, ...Object.keys(wire.thresholds ?? {})]) {
    if (head !== undefined && !model.heads.some((h) => h.name === head)) {
      throw new PolicyError(`the model has no head ${head} (it has ${model.heads.map((h) => h.name).join(', ')})`);
    }
  }
  if (mode === 'reroll-if-none-pass') throw new PolicyError('the bridge does score, rank, filter and best-of; a reroll is the workflow\'s to ask for');
  if (mode === 'filter' && wire.threshold === undefined && wire.thresholds === undefined) throw new PolicyError('a filter needs a threshold');
  if (mode === 'filter' && wire.threshold_kind === 'percentile' && (wire.threshold! < 0 || wire.threshold! > 100)) {
    throw new PolicyError('a percentile threshold lies in 0-100');
  }
  if (mode === 'best-of' && wire.k === undefined) throw new PolicyError('best-of needs k');
}

/** What the policy decides about scored images (outcomes in request order, ids = their indices). */
export function decide(wire: BridgePolicy, outcomes: ScoreOutcome[], model: ModelInfo): BridgeResult['decision'] {
  const { mode, policy } = fromWirePolicy(wire);
  const d = decideWith(outcomes, policy, model.heads);
  // The wire lists best-of's keepers best first, a filter's (and plain scoring's) in request order.
  const passed = mode === 'best-of' ? d.passed : [...d.passed].sort((a, b) => a - b);
  const threshold = mode === 'filter' ? (wire.threshold_kind === 'percentile' ? d.percentileBar : wire.threshold) : undefined;
  return { head: d.head, order: d.order, passed, rejected: d.rejected, ...(threshold === undefined ? {} : { threshold }) };
}
