import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import { loadAgiqa3k, loadAigciqa2023Csv, NumpyRandomState, paperSplit, trainTestSplit } from '@clip-agiqa/train';

import { AGIQA3K, python, pythonUnavailable, ROOT } from './support/helpers.js';

const skip = pythonUnavailable(['numpy']) ?? false;
const AIGCIQA2023_CSV = join(ROOT, '../shared/datasets/labels/aigciqa2023/aigciqa2023_index_mos100.csv');
const noData = existsSync(join(AGIQA3K, 'data.csv')) && existsSync(AIGCIQA2023_CSV) ? false : 'the datasets beside the project are missing';
if (noData && process.env.CI === 'true') throw new Error(`CI=true and ${noData}`);

/** numpy's own answer: the rows scikit-learn's train_test_split(test_size=0.2, random_state=42) puts in test. */
function numpyTestRows(n: number, seed = 42, testSize = 0.2): number[] {
  const r = python(['-c', 'import math, sys, numpy as np; n, seed, t = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]); '
    + 'print(" ".join(map(str, sorted(np.random.RandomState(seed).permutation(n)[:math.ceil(t * n)].tolist()))))', String(n), String(seed), String(testSize)]);
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.trim().split(' ').map(Number);
}

describe('the official split', () => {
  it('reproduces numpy\'s RandomState permutation bit for bit', { skip }, () => {
    const r = python(['-c', 'import numpy as np; print(np.random.RandomState(7).permutation(1000).tolist())']);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(new NumpyRandomState(7).permutation(1000), JSON.parse(r.stdout.split('\n')[0]!));
    assert.deepEqual(new NumpyRandomState(0).permutation(10), [2, 8, 4, 9, 1, 6, 7, 3, 0, 5]);
  });

  for (const n of [2982, 2400, 1000, 10, 7]) {
    it(`takes ceil(0.2 n) test rows of ${n} as numpy's RandomState(42) orders them`, { skip }, () => {
      const split = paperSplit(n);
      assert.deepEqual(split.test, numpyTestRows(n));
      assert.equal(split.test.length + split.train.length, n);
      assert.equal(new Set([...split.test, ...split.train]).size, n);
      assert.deepEqual(split.val, []);
    });
  }

  it('holds 597 test and 2,385 training images on AGIQA-3K, in data.csv\'s row order', { skip: skip || noData }, () => {
    const dataset = loadAgiqa3k(AGIQA3K, { checkImages: false });
    const split = paperSplit(dataset.samples.length);
    assert.deepEqual([split.test.length, split.train.length], [597, 2385]);
    const r = python(['-c', 'import csv, sys, numpy as np; rows = list(csv.DictReader(open(sys.argv[1], newline=""))); '
      + 'print("\\n".join(sorted(rows[i]["name"] for i in np.random.RandomState(42).permutation(len(rows))[:597])))', join(AGIQA3K, 'data.csv')]);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(split.test.map((i) => dataset.samples[i]!.id).sort(), r.stdout.trim().split('\n'));
  });

  it('splits AIGCIQA2023 by its image index as the official code does (480 test, 1,920 training)', { skip: skip || noData }, () => {
    const dataset = loadAigciqa2023Csv(AIGCIQA2023_CSV, '/nonexistent', { checkImages: false });
    const split = trainTestSplit(dataset.samples.length, 0.2, 42);
    assert.deepEqual([split.test.length, split.train.length], [480, 1920]);
    const r = python(['-c', 'import csv, sys, numpy as np; rows = {int(r["allimg_index"]): r["model"] + "/" + r["image_name"] for r in csv.DictReader(open(sys.argv[1], newline=""))}; '
      + 'print("\\n".join(sorted(rows[i] for i in np.random.RandomState(42).permutation(2400)[:480])))', AIGCIQA2023_CSV]);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(split.test.map((i) => dataset.samples[i]!.id).sort(), r.stdout.trim().split('\n'));
  });
});
