import { NumpyRandomState } from '../numpy-random-state.js';
import { Rng } from '../rng.js';

export interface SplitIndices {
  train: number[];
  val: number[];
  test: number[];
}

/** A random image-level split: `testFraction` of the samples for test, `valFraction` of the rest for validation. */
export function randomSplit(n: number, seed: number, testFraction = 0.2, valFraction = 0): SplitIndices {
  const order = new Rng(seed).permutation(n);
  const nTest = Math.round(n * testFraction);
  const rest = order.slice(nTest);
  const nVal = Math.round(rest.length * valFraction);
  return { test: order.slice(0, nTest).sort((a, b) => a - b), val: rest.slice(0, nVal).sort((a, b) => a - b), train: rest.slice(nVal).sort((a, b) => a - b) };
}

/**
 * scikit-learn's `train_test_split(rows, test_size=testSize, random_state=seed)` over `n` rows in file order,
 * as the official CLIP-AGIQA code splits AGIQA-3K and AIGCIQA2023: ceil(testSize * n) test rows, the first
 * of numpy's `RandomState(seed).permutation(n)`, and the rest for training. Indices are returned sorted.
 */
export function trainTestSplit(n: number, testSize: number, seed: number): SplitIndices {
  const order = new NumpyRandomState(seed).permutation(n);
  const nTest = Math.ceil(testSize * n);
  return { test: order.slice(0, nTest).sort((a, b) => a - b), val: [], train: order.slice(nTest).sort((a, b) => a - b) };
}

/** The paper's split: the official code's `train_test_split(data, test_size=0.2, random_state=42)`. */
export const paperSplit = (n: number): SplitIndices => trainTestSplit(n, 0.2, 42);

/** A group-disjoint split (e.g. no generation prompt in both train and test): whole groups go to one side. */
export function groupSplit(groups: readonly string[], seed: number, testFraction = 0.2, valFraction = 0): SplitIndices {
  const names = [...new Set(groups)].sort();
  const byGroup = new Map(names.map((g) => [g, [] as number[]]));
  groups.forEach((g, i) => byGroup.get(g)!.push(i));
  const parts = randomSplit(names.length, seed, testFraction, valFraction);
  const expand = (idx: number[]) => idx.flatMap((k) => byGroup.get(names[k]!)!).sort((a, b) => a - b);
  return { train: expand(parts.train), val: expand(parts.val), test: expand(parts.test) };
}
