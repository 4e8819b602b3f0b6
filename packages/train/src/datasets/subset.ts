import type { Dataset, Sample } from './dataset.js';

/** Samples without a generator form one stratum of their own. */
const UNNAMED = '(unnamed)';

/**
 * `count` samples spread over the generators in proportion to their share (every generator keeps at
 * least one where `count` allows), evenly spaced within each generator, in the
 * dataset's order. Deterministic: the same dataset and count give the same subset. The first N rows of a
 * release are often one generator; this keeps the subset's mix the dataset's.
 */
export function stratifiedSubset(dataset: Dataset, count: number): Dataset {
  const n = dataset.samples.length;
  if (count >= n) return dataset;
  const strata = new Map<string, number[]>();
  dataset.samples.forEach((s: Sample, i) => {
    const key = s.generator ?? UNNAMED;
    strata.set(key, [...(strata.get(key) ?? []), i]);
  });
  const groups = [...strata.values()];
  // Shares by largest remainders; then every generator gets one image where count allows, taken from
  // the generator furthest above its share.
  const shares = groups.map((g) => (count * g.length) / n);
  const quotas = shares.map(Math.floor);
  let left = count - quotas.reduce((a, b) => a + b, 0);
  for (const { k } of shares.map((x, k) => ({ k, r: x - Math.floor(x) })).sort((a, b) => b.r - a.r || a.k - b.k)) {
    if (left-- === 0) break;
    quotas[k]!++;
  }
  if (count >= groups.length) {
    for (let k = 0; k < groups.length; k++) {
      if (quotas[k] !== 0) continue;
      const donor = quotas.reduce((best, q, j) => (q > 1 && (best < 0 || q - shares[j]! > quotas[best]! - shares[best]!) ? j : best), -1);
      quotas[donor]!--;
      quotas[k] = 1;
    }
  }
  const picked = groups.flatMap((g, k) => Array.from({ length: quotas[k]! }, (_, j) => g[Math.floor(((j + 0.5) * g.length) / quotas[k]!)]!));
  return { ...dataset, samples: picked.sort((a, b) => a - b).map((i) => dataset.samples[i]!) };
}

/** How many samples each generator contributes, largest first. */
export function generatorCounts(dataset: Dataset): [string, number][] {
  const counts = new Map<string, number>();
  for (const s of dataset.samples) counts.set(s.generator ?? UNNAMED, (counts.get(s.generator ?? UNNAMED) ?? 0) + 1);
  return [...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
}
