import { ClipAgiqaError, UsageError } from './errors.js';

/** A scored input: every head's score, in that head's MOS scale. */
export interface ScoreResult {
  /** The input's identity: a file path, the id of a `{ id, image }` input, or `#<index>`. */
  id: string;
  /** Position of the input in the call. */
  index: number;
  scores: Record<string, number>;
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

/**
 * Which inputs pass. Every criterion given must hold; at least one is required.
 * - threshold: the head's score reaches it (>= when higher is better, <= otherwise)
 * - topK: among the K best
 * - topPercent: among the best ceil(P% of the scored inputs)
 */
export interface FilterPolicy {
  head?: string;
  threshold?: number;
  topK?: number;
  topPercent?: number;
}

export interface FilterResult extends Ranking {
  passed: RankedResult[];
  rejected: RankedResult[];
}

export interface BestOfResult extends Ranking {
  /** The best input, or null when none could be scored. */
  best: RankedResult | null;
}

export function rankOutcomes(outcomes: ScoreOutcome[], head: string, higherIsBetter: boolean): Ranking {
  const scored = outcomes.filter((o): o is ScoreResult => !('error' in o));
  const failed = outcomes.filter((o): o is ScoreFailure => 'error' in o);
  const sign = higherIsBetter ? -1 : 1;
  const ranked = [...scored]
    .sort((a, b) => sign * (a.scores[head]! - b.scores[head]!) || a.index - b.index)
    .map((r, i) => ({ ...r, rank: i + 1 }));
  return { ranked, failed, head };
}

export function validateFilterPolicy(policy: FilterPolicy): void {
  const { threshold, topK, topPercent } = policy;
  if (threshold === undefined && topK === undefined && topPercent === undefined) {
    throw new UsageError('INVALID_ARGUMENT', 'a filter policy needs a threshold, topK or topPercent');
  }
  if (threshold !== undefined && !Number.isFinite(threshold)) throw new UsageError('INVALID_ARGUMENT', `threshold must be a finite number, got ${threshold}`);
  if (topK !== undefined && !(Number.isInteger(topK) && topK >= 0)) throw new UsageError('INVALID_ARGUMENT', `topK must be a non-negative integer, got ${topK}`);
  if (topPercent !== undefined && !(topPercent >= 0 && topPercent <= 100)) throw new UsageError('INVALID_ARGUMENT', `topPercent must be within 0-100, got ${topPercent}`);
}

export function filterRanking(ranking: Ranking, policy: FilterPolicy, higherIsBetter: boolean): FilterResult {
  validateFilterPolicy(policy);
  const n = ranking.ranked.length;
  const maxRank = Math.min(
    policy.topK ?? n,
    policy.topPercent === undefined ? n : Math.ceil((policy.topPercent / 100) * n - 1e-9),
  );
  const meets = (r: RankedResult) => {
    if (r.rank > maxRank) return false;
    if (policy.threshold === undefined) return true;
    const s = r.scores[ranking.head]!;
    return higherIsBetter ? s >= policy.threshold : s <= policy.threshold;
  };
  return {
    ...ranking,
    passed: ranking.ranked.filter(meets),
    rejected: ranking.ranked.filter((r) => !meets(r)),
  };
}
