import { fromWirePolicy, PolicyError, type HeadDirection, type Policy, type WirePolicy } from '@clip-agiqa/core';

import { CliUsageError, parseNumber } from './io.js';

export const THRESHOLD_FLAG_HELP = `  --threshold X          mark each image passed/failed against X on that head's scale
                         or HEAD=X,HEAD=Y: a bar per head, all to be reached (quality AND alignment);
                         an image without a score on a barred head (clipscore: no prompt) fails it`;

export const COMBINE_FLAG_HELP = `  --combine SPEC         rank by several heads instead of --head, best first (implies ranking output):
                         weighted:quality=1,clipscore=2 sums weight x raw score (a lower-is-better
                         head counts negatively); lexicographic:clipscore~0.05,quality picks the best
                         on clipscore, counting scores within 0.05 of it as tied, then on quality.
                         An image without a score on a named head (clipscore: no prompt) is not ranked`;

const FORMAT = 'weighted:HEAD=WEIGHT,... or lexicographic:HEAD[~TOLERANCE],...';

function numberIn(spec: string, text: string, what: string): number {
  const n = Number(text);
  if (text.trim() === '' || Number.isNaN(n)) throw new CliUsageError(`--combine: ${what} must be a number, got ${JSON.stringify(text)} in ${JSON.stringify(spec)}`);
  return n;
}

/** The wire combination an --combine SPEC names (its numbers and heads are checked by the policy validator, as everywhere). */
export function parseCombine(spec: string): NonNullable<WirePolicy['combine']> {
  const colon = spec.indexOf(':');
  const method = spec.slice(0, colon);
  const items = spec.slice(colon + 1).split(',').map((s) => s.trim());
  if (colon < 0 || items.some((s) => s === '')) throw new CliUsageError(`--combine must be ${FORMAT}, got ${JSON.stringify(spec)}`);
  if (method === 'weighted') {
    const weights: Record<string, number> = {};
    for (const item of items) {
      const [head, weight, extra] = item.split('=');
      if (!head || weight === undefined || extra !== undefined) throw new CliUsageError(`--combine: weighted takes HEAD=WEIGHT, got ${JSON.stringify(item)}`);
      if (head in weights) throw new CliUsageError(`--combine: ${head} is weighted twice`);
      weights[head] = numberIn(spec, weight, `the weight of ${head}`);
    }
    return { method, weights };
  }
  if (method === 'lexicographic') {
    const heads: string[] = [];
    const tolerances: Record<string, number> = {};
    for (const item of items) {
      const [head, tolerance, extra] = item.split('~');
      if (!head || extra !== undefined) throw new CliUsageError(`--combine: lexicographic takes HEAD or HEAD~TOLERANCE, got ${JSON.stringify(item)}`);
      heads.push(head);
      if (tolerance !== undefined) tolerances[head] = numberIn(spec, tolerance, `the tolerance of ${head}`);
    }
    return { method, heads: heads as [string, ...string[]], ...(Object.keys(tolerances).length ? { tolerances } : {}) };
  }
  throw new CliUsageError(`--combine must be ${FORMAT}, got ${JSON.stringify(spec)}`);
}

/** The bars of --threshold: one on the ranking head, or one per head. */
export type Bars = { threshold: number } | { thresholds: Record<string, number> };

/** Reads --threshold X (on the ranking head) or --threshold HEAD=X,HEAD=Y (a bar per head). */
export function parseThreshold(value: string | undefined): Bars | undefined {
  if (value === undefined) return undefined;
  if (!value.includes('=')) return { threshold: parseNumber('threshold', value, () => true, 'a number, or HEAD=X,HEAD=Y')! };
  const thresholds: Record<string, number> = {};
  for (const item of value.split(',').map((s) => s.trim())) {
    const [head, bar, extra] = item.split('=');
    if (!head || bar === undefined || extra !== undefined) throw new CliUsageError(`--threshold: a bar per head is HEAD=X, got ${JSON.stringify(item)}`);
    if (head in thresholds) throw new CliUsageError(`--threshold: ${head} has two bars`);
    thresholds[head] = parseNumber('threshold', bar, () => true, `a number for ${head}`)!;
  }
  return { thresholds };
}

/**
 * The policy of score's ranking flags. A combination or per-head bars are checked by the one policy
 * validator (fromWirePolicy), so they are accepted or refused as a webhook job or a bridge request with
 * the same policy is; a plain --head and --threshold X are the same policy, left to the caller's checks.
 */
export function flagPolicy(flags: { head?: string | undefined; bars?: Bars | undefined; combine?: NonNullable<WirePolicy['combine']> | undefined }, heads: readonly HeadDirection[]): Policy {
  const { head, bars, combine } = flags;
  if (!combine && !(bars && 'thresholds' in bars)) return { ...(head === undefined ? {} : { head }), ...bars };
  const wire: WirePolicy = { mode: bars ? 'filter' : 'rank', ...(combine ? { combine } : {}), ...(head === undefined ? {} : { head }), ...bars };
  try {
    return fromWirePolicy(wire, heads).policy;
  } catch (e) {
    if (e instanceof PolicyError) throw new CliUsageError(`${combine ? '--combine' : '--threshold'}: ${e.message}`);
    throw e;
  }
}
