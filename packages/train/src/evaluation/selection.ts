import { mean } from './metrics.js';
import { Rng } from '../rng.js';

/**
 * How well predictions pick among candidates of one prompt, which is what best-of-N users do.
 * Computed within each group (generation prompt) that has at least two test images.
 */
export interface SelectionMetrics {
  groups: number;
  /** Pairs of one group with different MOS that the predictions order as the MOS does. */
  pairwise_accuracy: number;
  /** Groups where the predicted best image is the one people rated best. */
  top1_agreement: number;
  /** Mean MOS gained by keeping the predicted best of N random candidates instead of a random one. */
  best_of_n_gain: Record<string, number>;
}

export function selectionMetrics(pred: readonly number[], mos: readonly number[], groups: readonly string[], seed = 0, draws = 200): SelectionMetrics {
  const byGroup = new Map<string, number[]>();
  groups.forEach((g, i) => byGroup.set(g, [...(byGroup.get(g) ?? []), i]));
  const members = [...byGroup.values()].filter((m) => m.length >= 2);
  let agree = 0;
  let pairs = 0;
  let top1 = 0;
  const rng = new Rng(seed);
  const gains: Record<string, number[]> = { 2: [], 4: [], 8: [] };
  for (const m of members) {
    for (let a = 0; a < m.length; a++) {
      for (let b = a + 1; b < m.length; b++) {
        const dm = mos[m[a]!]! - mos[m[b]!]!;
        if (dm === 0) continue;
        pairs++;
        if (Math.sign(pred[m[a]!]! - pred[m[b]!]!) === Math.sign(dm)) agree++;
      }
    }
    const bestPred = m.reduce((x, y) => (pred[y]! > pred[x]! ? y : x));
    const bestMos = Math.max(...m.map((i) => mos[i]!));
    if (mos[bestPred] === bestMos) top1++;
    for (const n of [2, 4, 8]) {
      if (m.length < n) continue;
      let gain = 0;
      for (let d = 0; d < draws; d++) {
        const pick = rng.permutation(m.length).slice(0, n).map((k) => m[k]!);
        const chosen = pick.reduce((x, y) => (pred[y]! > pred[x]! ? y : x));
        gain += mos[chosen]! - pick.reduce((s, i) => s + mos[i]!, 0) / n;
      }
      gains[n]!.push(gain / draws);
    }
  }
  return {
    groups: members.length,
    pairwise_accuracy: pairs ? agree / pairs : NaN,
    top1_agreement: members.length ? top1 / members.length : NaN,
    best_of_n_gain: Object.fromEntries(Object.entries(gains).filter(([, v]) => v.length).map(([n, v]) => [`n${n}`, mean(v)])),
  };
}
