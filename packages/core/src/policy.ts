import type { Combination } from './combination.js';
import { checkHeadNames, decide, missedBars, validatePolicy, type Decidable, type Decision, type HeadDirection, type Policy } from './decision.js';
import { PolicyError } from './errors.js';
import type { WirePolicy } from './generated/defs.js';
import { compileDefinitionWithDefaults } from './validation.js';

/** The modes of a wire policy under their current names (gate is filter, best-of-n is best-of). */
export type PolicyMode = 'score' | 'rank' | 'filter' | 'best-of' | 'reroll-if-none-pass';

const RENAMED: Record<string, PolicyMode> = { gate: 'filter', 'best-of-n': 'best-of' };
const BARRED: ReadonlySet<PolicyMode> = new Set(['filter', 'reroll-if-none-pass']);

const validateShape = compileDefinitionWithDefaults<WirePolicy>('policy');

const defined = (o: Record<string, number | undefined>): Record<string, number> =>
  Object.fromEntries(Object.entries(o).filter((e): e is [string, number] => e[1] !== undefined));

function combinationOf(wire: NonNullable<WirePolicy['combine']>): Combination {
  if (wire.method === 'weighted') return { method: 'weighted', weights: defined(wire.weights) };
  return { method: 'lexicographic', heads: [...wire.heads], ...(wire.tolerances ? { tolerances: defined(wire.tolerances) } : {}) };
}

/** A wire policy read: its mode under the current name, and the Policy that decides. */
export interface ReadPolicy {
  mode: PolicyMode;
  policy: Policy;
}

/**
 * What no mode can do with this policy, as the fields were sent (before defaults): a bar where the mode
 * reads none (it would be silently ignored), a filter without one, a percentile that is not one. k, like
 * threshold_kind, has a default that a schema-checked configuration fills in whatever the mode, so only
 * best-of reads it and the others ignore it.
 */
function modeProblem(wire: WirePolicy, mode: PolicyMode): string | null {
  const hasBar = wire.threshold !== undefined || wire.thresholds !== undefined;
  const named = `mode ${wire.mode}`;
  if (BARRED.has(mode) && !hasBar) return `${named} needs a bar: threshold (on the ranking head) or thresholds (per head)`;
  if (!BARRED.has(mode) && hasBar) return `${named} takes no bar; threshold and thresholds belong to filter and reroll-if-none-pass`;
  if (wire.threshold_kind === 'percentile') {
    if (wire.threshold === undefined) return 'threshold_kind percentile needs a threshold (the percentile, 0-100)';
    if (!(wire.threshold >= 0 && wire.threshold <= 100)) return `a percentile threshold lies within 0-100, got ${wire.threshold}`;
  }
  return null;
}

/**
 * Reads a wire policy (schemas/defs.schema.json#/$defs/policy) into core's terms, checking it against
 * the schema (its defaults filled in: k 1, threshold_kind absolute), the mode rules and, given the
 * model's heads, the heads it names (combine's included). The one check every entry that takes a policy makes: a policy is
 * accepted or refused, with the same PolicyError code and message, wherever it is sent.
 * Deprecated spellings are renamed: gate is filter, best-of-n is best-of.
 */
export function fromWirePolicy(wire: unknown, heads?: readonly HeadDirection[]): ReadPolicy {
  const shape = validateShape(wire);
  if (!shape.ok) throw new PolicyError('SCHEMA_VIOLATION', `the policy does not match defs.schema.json#/$defs/policy: ${shape.errors.join('; ')}`);
  const sent = wire as WirePolicy;
  const w = shape.value;
  const mode = RENAMED[w.mode] ?? (w.mode as PolicyMode);
  const policy: Policy = w.head === undefined ? {} : { head: w.head };
  if (BARRED.has(mode)) {
    if (w.threshold !== undefined) {
      if (w.threshold_kind === 'percentile') policy.percentile = w.threshold;
      else policy.threshold = w.threshold;
    }
    if (w.thresholds) policy.thresholds = defined(w.thresholds);
  }
  if (mode === 'best-of') policy.topK = w.k;
  if (w.combine) policy.combine = combinationOf(w.combine);
  if (heads) checkHeadNames({ head: w.head, thresholds: w.thresholds, combine: policy.combine }, heads);
  const problem = modeProblem(sent, mode);
  if (problem) throw new PolicyError('INVALID_POLICY', problem);
  validatePolicy(policy);
  return { mode, policy };
}

/** What a wire policy decides about scored candidates. */
export interface WireDecision extends ReadPolicy {
  decision: Decision;
  /** filter and reroll-if-none-pass with one bar on the ranking head: that bar (a percentile's as it came to on this batch). */
  threshold?: number;
  /**
   * Per candidate, why it did not pass: each bar it missed (a head it has no score on misses that head's
   * bar), or what kept it from being ranked. Empty for one that passed, one that failed to be scored
   * (its error says why) and one that best-of left out of its k.
   */
  missed: string[][];
}

/** Reads the wire policy (refusing it as fromWirePolicy does) and decides about the candidates. */
export function decideWire(candidates: readonly Decidable[], wire: unknown, heads: readonly HeadDirection[]): WireDecision {
  const read = fromWirePolicy(wire, heads);
  const decision = decide(candidates, read.policy, heads);
  const threshold = decision.percentileBar ?? read.policy.threshold;
  // The bars as they came to on this batch: a percentile is the threshold it resolved to.
  const bars: Policy = { ...read.policy };
  delete bars.percentile;
  if (threshold !== undefined) bars.threshold = threshold;
  const kept = new Set(decision.passed);
  const missed = candidates.map((c, i) => (kept.has(i) || !('scores' in c) ? [] : missedBars(c, bars, heads)));
  return { ...read, decision, missed, ...(threshold === undefined ? {} : { threshold }) };
}
