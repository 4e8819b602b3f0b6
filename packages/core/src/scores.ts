/** What a decision needs to know of a head. ModelInfo's HeadInfo is one. */
export interface HeadDirection {
  name: string;
  higherIsBetter: boolean;
  /** A head that scores an image against its prompt (no score for an image without one): said in the reasons a candidate fails a bar. */
  needsPrompt?: boolean;
}

/** A candidate as decisions read it: its scores by head (NaN: not scored), or the error that kept it from being scored. A ScoreOutcome is one. */
export type Decidable = { readonly scores: Readonly<Record<string, number>> } | { readonly error: unknown };

/** The candidate's score on a head, or undefined when it has none there (failed, not scored by that head, or NaN). */
export function scoreOf(c: Decidable, head: string): number | undefined {
  const s = 'scores' in c ? c.scores[head] : undefined;
  return s !== undefined && Number.isFinite(s) ? s : undefined;
}

/** True when score `a` reaches `bar` on a head of that direction. */
export function reaches(a: number, bar: number, higherIsBetter: boolean): boolean {
  return higherIsBetter ? a >= bar : a <= bar;
}
