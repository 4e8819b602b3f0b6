import { combinationNames, combinationProblem, rankCombined, rankingHeads, type Combination } from './combination.js';
import { PolicyError } from './errors.js';
import { reaches, scoreOf, type Decidable, type HeadDirection } from './scores.js';

export type { Combination } from './combination.js';
export type { Decidable, HeadDirection } from './scores.js';
export { reaches } from './scores.js';

/**
 * Which candidates pass, and which wins. Every criterion given must hold; with none, every scored
 * candidate passes. "Reaches" means >= on a head where higher is better and <= on one where lower is.
 */
export interface Policy {
  /** The head that ranks, and that `threshold`, `topK`, `topPercent` and `percentile` read (default: the model's first). */
  head?: string;
  /** Ranks by several heads in place of `head` (see Combination); not with `head`, `threshold` or `percentile`. */
  combine?: Combination;
  /** The ranking head's score reaches it. */
  threshold?: number;
  /** Each named head's score reaches its bar. */
  thresholds?: Record<string, number>;
  /** Among the K best (best-of-K). */
  topK?: number;
  /** Among the best ceil(P% of the scored candidates), P in 0-100. */
  topPercent?: number;
  /** Reaches the P-th percentile (0-100) of this batch's scores on the ranking head, interpolated as numpy does. */
  percentile?: number;
}

export interface Decision {
  /** The ranking head; under a combination, its first head. */
  head: string;
  /** Indices of the scored candidates, best first; ties keep input order. */
  order: number[];
  /** Indices of the candidates that pass, best first. */
  passed: number[];
  /** Indices of every other candidate (unscored ones included), in input order. */
  rejected: number[];
  /** The best candidate's index, or null when none was scored. */
  best: number | null;
  /** With `percentile`: the bar it came to on this batch (absent when nothing was scored). */
  percentileBar?: number;
}

/** Indices of the candidates scored on `head`, best first; ties keep input order. Unscored (or NaN) candidates are left out. */
export function rank(candidates: readonly Decidable[], head: HeadDirection): number[] {
  const sign = head.higherIsBetter ? -1 : 1;
  return candidates.flatMap((c, i) => (scoreOf(c, head.name) === undefined ? [] : [i]))
    .sort((a, b) => sign * (scoreOf(candidates[a]!, head.name)! - scoreOf(candidates[b]!, head.name)!) || a - b);
}

/** The value at percentile p (0-100) of xs, interpolating linearly between order statistics (numpy's default). */
export function percentile(xs: readonly number[], p: number): number {
  const sorted = [...xs].sort((a, b) => a - b);
  const pos = (Math.min(100, Math.max(0, p)) / 100) * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

function headNamed(heads: readonly HeadDirection[], name: string | undefined): HeadDirection {
  const head = name === undefined ? heads[0] : heads.find((h) => h.name === name);
  if (!head) throw new PolicyError('UNKNOWN_HEAD', `no head named ${name} (heads: ${heads.map((h) => h.name).join(', ')})`);
  return head;
}

/** Throws a PolicyError (UNKNOWN_HEAD) listing the heads a policy names that the model does not have. */
export function checkHeadNames(policy: { head?: string | undefined; thresholds?: object | undefined; combine?: Combination | undefined }, heads: readonly HeadDirection[]): void {
  const known = new Set(heads.map((h) => h.name));
  const named = [...(policy.head === undefined ? [] : [policy.head]), ...Object.keys(policy.thresholds ?? {}), ...(policy.combine ? combinationNames(policy.combine) : [])];
  const unknown = [...new Set(named)].filter((n) => !known.has(n));
  if (unknown.length) throw new PolicyError('UNKNOWN_HEAD', `the policy names unknown head(s) ${unknown.join(', ')}; the model has ${[...known].join(', ')}`);
}

/** Throws a PolicyError naming what is wrong with a policy (and, given the heads, with the heads it names). */
export function validatePolicy(policy: Policy, heads?: readonly HeadDirection[]): void {
  if (heads) checkHeadNames(policy, heads);
  const { threshold, topK, topPercent, percentile: p } = policy;
  if (threshold !== undefined && !Number.isFinite(threshold)) throw new PolicyError('INVALID_POLICY', `threshold must be a finite number, got ${threshold}`);
  for (const [name, bar] of Object.entries(policy.thresholds ?? {})) {
    if (!Number.isFinite(bar)) throw new PolicyError('INVALID_POLICY', `threshold of ${name} must be a finite number, got ${bar}`);
  }
  if (topK !== undefined && !(Number.isInteger(topK) && topK >= 0)) throw new PolicyError('INVALID_POLICY', `topK must be a non-negative integer, got ${topK}`);
  if (topPercent !== undefined && !(topPercent >= 0 && topPercent <= 100)) throw new PolicyError('INVALID_POLICY', `topPercent must be within 0-100, got ${topPercent}`);
  if (p !== undefined && !(p >= 0 && p <= 100)) throw new PolicyError('INVALID_POLICY', `percentile must be within 0-100, got ${p}`);
  if (policy.combine) {
    const problem = combineProblem(policy);
    if (problem) throw new PolicyError('INVALID_POLICY', problem);
  }
}

/** What keeps a combination from ranking this policy: it takes the place of the one ranking head and of the bar on it. */
export function combineProblem(policy: Pick<Policy, 'combine' | 'head' | 'threshold' | 'percentile'>): string | null {
  if (!policy.combine) return null;
  if (policy.head !== undefined) return 'combine ranks in place of head: send one of them';
  if (policy.threshold !== undefined || policy.percentile !== undefined) {
    return 'a single threshold reads one head, and combine ranks by several: put the bars per head in thresholds';
  }
  return combinationProblem(policy.combine);
}

function noScore(candidate: Decidable, head: HeadDirection): string {
  const why = 'error' in candidate ? 'the candidate could not be scored' : head.needsPrompt ? 'it scores against a prompt, and the candidate had none' : 'the candidate has none';
  return `no ${head.name} score (${why})`;
}

/**
 * Why one candidate does not reach the policy's bars (`threshold` on the ranking head, and `thresholds`),
 * a line each, none when it reaches them all. A candidate needs a score on the ranking head (on every
 * combined head under a combination) to be ranked at all, and a score on each head a bar reads.
 */
export function missedBars(candidate: Decidable, policy: Policy, heads: readonly HeadDirection[]): string[] {
  const bars: [HeadDirection, number][] = Object.entries(policy.thresholds ?? {}).map(([name, bar]) => [headNamed(heads, name), bar]);
  const head = headNamed(heads, policy.head);
  if (policy.threshold !== undefined) bars.push([head, policy.threshold]);
  const ranking = policy.combine ? rankingHeads(policy.combine).map((name) => headNamed(heads, name)) : [head];
  const unranked = ranking.filter((h) => scoreOf(candidate, h.name) === undefined);
  if (unranked.length) return [`not ranked: ${unranked.map((h) => noScore(candidate, h)).join('; ')}`];
  return bars.flatMap(([h, bar]) => {
    const s = scoreOf(candidate, h.name);
    if (s === undefined) return [`misses the ${h.name} bar ${bar}: ${noScore(candidate, h)}`];
    return reaches(s, bar, h.higherIsBetter) ? [] : [`${h.name} ${s} is ${h.higherIsBetter ? 'under' : 'over'} the bar ${bar}`];
  });
}

/** Whether one candidate's scores reach the policy's bars (see missedBars). Unscored never passes. */
export function passes(candidate: Decidable, policy: Policy, heads: readonly HeadDirection[]): boolean {
  return missedBars(candidate, policy, heads).length === 0;
}

/** Ranks the candidates by the policy's head (or combination) and decides which pass. */
export function decide(candidates: readonly Decidable[], policy: Policy, heads: readonly HeadDirection[]): Decision {
  validatePolicy(policy, heads);
  const head = headNamed(heads, policy.combine ? rankingHeads(policy.combine)[0] : policy.head);
  const order = policy.combine ? rankCombined(candidates, policy.combine, heads) : rank(candidates, head);
  const n = order.length;
  const maxRank = Math.min(
    policy.topK ?? n,
    policy.topPercent === undefined ? n : Math.ceil((policy.topPercent / 100) * n - 1e-9),
  );
  const bar = policy.percentile !== undefined && n > 0 ? percentile(order.map((i) => scoreOf(candidates[i]!, head.name)!), policy.percentile) : undefined;
  const passed = order.filter((i, r) => r < maxRank && passes(candidates[i]!, policy, heads)
    && (policy.percentile === undefined || (bar !== undefined && reaches(scoreOf(candidates[i]!, head.name)!, bar, head.higherIsBetter))));
  const kept = new Set(passed);
  return {
    head: head.name, order, passed, rejected: candidates.map((_, i) => i).filter((i) => !kept.has(i)), best: order[0] ?? null,
    ...(bar === undefined ? {} : { percentileBar: bar }),
  };
}
