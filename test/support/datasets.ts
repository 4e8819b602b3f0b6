import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

import { DatasetError } from '@clip-agiqa/train';

import { AGIQA3K, ROOT } from './helpers.js';

/** The released label files of the public datasets, beside the project. */
export const LABELS = join(ROOT, '../shared/datasets/labels');

/** A skip reason where the datasets beside the project are missing. */
export const noShared = existsSync(join(AGIQA3K, 'data.csv')) ? false : 'the datasets beside the project are missing';

/** `fn` throws a DatasetError listing a problem for each pattern. */
export function rejectsWithProblems(fn: () => unknown, patterns: RegExp[]): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof DatasetError, String(e));
    for (const p of patterns) assert.ok(e.problems.some((x) => p.test(x)), `no problem matches ${p}: ${e.problems.join(' | ')}`);
    return true;
  });
}
