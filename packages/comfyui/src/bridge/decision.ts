import { decideWire, fromWirePolicy, type ModelInfo, type ScoreOutcome, type WirePolicy } from '@clip-agiqa/core';

import type { BridgeResult } from '../generated/bridge-server-message.js';

/** The policy of a bridge request: the shared wire policy. */
export type BridgePolicy = WirePolicy;

/** Checks a policy against the model before any image is read: core's one check, so the bridge refuses what every other entry refuses (a PolicyError). */
export function checkPolicy(wire: BridgePolicy, model: ModelInfo): void {
  fromWirePolicy(wire, model.heads);
}

/** What the policy decides about scored images (outcomes in request order, ids = their indices). */
export function decide(wire: BridgePolicy, outcomes: ScoreOutcome[], model: ModelInfo): BridgeResult['decision'] {
  const { mode, decision: d, threshold } = decideWire(outcomes, wire, model.heads);
  // The wire lists best-of's keepers best first, a filter's (and plain scoring's) in request order.
  const passed = mode === 'best-of' ? d.passed : [...d.passed].sort((a, b) => a - b);
  return { head: d.head, order: d.order, passed, rejected: d.rejected, ...(threshold === undefined ? {} : { threshold }) };
}
