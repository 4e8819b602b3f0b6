import { decide, rank, validatePolicy, type Policy } from './decision.js';
import { ClipAgiqaError, PolicyError } from './errors.js';

/** A scored input: every head's score, in that head's MOS scale. */
export interface ScoreResult {
  /** The input's identity: a file path, the id of a `{ id, image }` input, or `#<index>`. */
  id: string;
  /** Position of the input in the call. */
  index: number;
  scores: Record<string, number>;
  /** The prompt the prompt heads (`clipscore`) scored the image against, when it had one. */
  prompt?: string;
}

/** An input that could not be scored, with the typed reason. Other inputs of the call are unaffected. */
export interface ScoreFailure {
  id: string;
  index: number;
  error: ClipAgiqaError;
}

export type ScoreOutcome = ScoreResult | ScoreFailure;

export function isFailure(o: ScoreOutcome): o is ScoreFailure {
  return 'error' in o;
}

export interface RankedResult extends ScoreResult {
  /** 1 is the best. */
  rank: number;
}

export interface Ranking {
  /** Scored inputs, best first by the ranking head; ties keep input order. */
  ranked: RankedResult[];
  failed: ScoreFailure[];
  head: string;
}

/** Which inputs `filter` passes: a Policy on one head, with at least one of threshold, topK, topPercent. */
export type FilterPolicy = Pick<Policy, 'head' | 'threshold' | 'topK' | 'topPercent'>;

export interface FilterResult extends Ranking {
  passed: RankedResult[];
  rejected: RankedResult[];
}

export interface BestOfResult extends Ranking {
  /** The best input, or null when none could be scored. */
  best: RankedResult | null;
}

export function rankOutcomes(outcomes: ScoreOutcome[], head: string, higherIsBetter: boolean): Ranking {
  const ranked = rank(outcomes, { name: head, higherIsBetter }).map((i, r) => ({ ...(outcomes[i] as ScoreResult), rank: r + 1 }));
  return { ranked, failed: outcomes.filter(isFailure), head };
}

export function validateFilterPolicy(policy: FilterPolicy): void {
  if (policy.threshold === undefined && policy.topK === undefined && policy.topPercent === undefined) {
    throw new PolicyError('INVALID_POLICY', 'a filter policy needs a threshold, topK or topPercent');
  }
  validatePolicy(policy);
}

export function filterRanking(ranking: Ranking, policy: FilterPolicy, higherIsBetter: boolean): FilterResult {
  validateFilterPolicy(policy);
  const { threshold, topK, topPercent } = policy;
  const decision = decide(ranking.ranked, { threshold, topK, topPercent }, [{ name: ranking.head, higherIsBetter }]);
  const passed = new Set(decision.passed);
  return {
    ...ranking,
    passed: ranking.ranked.filter((_, i) => passed.has(i)),
    rejected: ranking.ranked.filter((_, i) => !passed.has(i)),
  };
}
