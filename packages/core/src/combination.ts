import { scoreOf, type Decidable, type HeadDirection } from './scores.js';

/**
 * A ranking over several heads (schemas/defs.schema.json#/$defs/policy, `combine`). Scores are read raw,
 * in each head's own scale. weighted: best first by the sum of weight x score, a lower-is-better head
 * counting negatively. lexicographic: the best is the first (in input order) of the candidates left
 * after keeping, head by head, those within that head's tolerance of the best score on it; the order
 * repeats the choice. Either way a candidate missing a named head's score is not ranked.
 */
export type Combination =
  | { method: 'weighted'; weights: Readonly<Record<string, number>> }
  | { method: 'lexicographic'; heads: readonly string[]; tolerances?: Readonly<Record<string, number>> };

/** Every head name a combination mentions (tolerances included), in the order given. */
export function combinationNames(c: Combination): string[] {
  return c.method === 'weighted' ? Object.keys(c.weights) : [...c.heads, ...Object.keys(c.tolerances ?? {})];
}

/** The heads that rank, first first: the decision's `head` is the first of them. */
export function rankingHeads(c: Combination): string[] {
  return c.method === 'weighted' ? Object.keys(c.weights) : [...c.heads];
}

/** What is wrong with a combination's numbers and lists (its head names are checked against the model elsewhere), or null. */
export function combinationProblem(c: Combination): string | null {
  if (c.method === 'weighted') {
    const entries = Object.entries(c.weights);
    if (entries.length === 0) return 'combine: weights names no head';
    for (const [name, w] of entries) {
      if (!Number.isFinite(w) || w < 0) return `combine: the weight of ${name} must be a finite number >= 0 (a lower-is-better head already counts negatively), got ${w}`;
    }
    if (entries.every(([, w]) => w === 0)) return 'combine: every weight is 0; give at least one head a weight above 0';
    return null;
  }
  if (c.heads.length === 0) return 'combine: heads names no head';
  const twice = c.heads.find((h, i) => c.heads.indexOf(h) !== i);
  if (twice !== undefined) return `combine: ${twice} is listed twice in heads`;
  for (const [name, t] of Object.entries(c.tolerances ?? {})) {
    if (!c.heads.includes(name)) return `combine: a tolerance for ${name}, which heads does not list (${c.heads.join(', ')})`;
    if (!Number.isFinite(t) || t < 0) return `combine: the tolerance of ${name} must be a finite number >= 0, got ${t}`;
  }
  return null;
}

const directionOf = (heads: readonly HeadDirection[], name: string): HeadDirection => {
  const head = heads.find((h) => h.name === name);
  if (!head) throw new Error(`no head named ${name}`); // The policy's head names were checked before ranking.
  return head;
};

function weightedOrder(candidates: readonly Decidable[], weights: Readonly<Record<string, number>>, heads: readonly HeadDirection[], ranked: number[]): number[] {
  const terms = Object.entries(weights).map(([name, w]) => ({ name, w: directionOf(heads, name).higherIsBetter ? w : -w }));
  const total = new Map(ranked.map((i) => {
    let sum = 0;
    for (const t of terms) sum += t.w * scoreOf(candidates[i]!, t.name)!;
    return [i, sum];
  }));
  return [...ranked].sort((a, b) => total.get(b)! - total.get(a)! || a - b);
}

function lexicographicOrder(candidates: readonly Decidable[], c: Extract<Combination, { method: 'lexicographic' }>, heads: readonly HeadDirection[], ranked: number[]): number[] {
  const keys = c.heads.map((name) => ({ name, higher: directionOf(heads, name).higherIsBetter, tolerance: c.tolerances?.[name] ?? 0 }));
  const left = [...ranked];
  const order: number[] = [];
  while (left.length) {
    let pool = left;
    for (const k of keys) {
      const s = pool.map((i) => scoreOf(candidates[i]!, k.name)!);
      const best = s.reduce((a, b) => (k.higher ? Math.max(a, b) : Math.min(a, b)));
      pool = pool.filter((_, j) => (k.higher ? best - s[j]! : s[j]! - best) <= k.tolerance);
    }
    order.push(pool[0]!);
    left.splice(left.indexOf(pool[0]!), 1);
  }
  return order;
}

/** Indices of the candidates scored on every head the combination ranks by, best first; ties keep input order. */
export function rankCombined(candidates: readonly Decidable[], c: Combination, heads: readonly HeadDirection[]): number[] {
  const names = rankingHeads(c);
  const ranked = candidates.flatMap((cand, i) => (names.every((n) => scoreOf(cand, n) !== undefined) ? [i] : []));
  return c.method === 'weighted' ? weightedOrder(candidates, c.weights, heads, ranked) : lexicographicOrder(candidates, c, heads, ranked);
}
