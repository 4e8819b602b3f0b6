import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { evaluate, kendall, ranks, spearman } from '@clip-agiqa/train';

import { python, pythonUnavailable } from './support/helpers.js';

/** Deterministic pseudo-random numbers (mulberry32). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function cases(): { name: string; pred: number[]; mos: number[] }[] {
  const r = rng(7);
  const mos = Array.from({ length: 300 }, () => r() * 5);
  const noisy = mos.map((m) => 2 / (1 + Math.exp(-(m - 2.5))) + (r() - 0.5) * 0.8);
  const tied = mos.map((m) => Math.round(m * 2) / 2);
  const small = Array.from({ length: 12 }, (_, i) => i / 2 - 3);
  return [
    { name: 'nonlinear and noisy', pred: noisy, mos },
    { name: 'ties in both', pred: tied.map((t) => Math.round(t)), mos: tied },
    { name: 'anti-correlated', pred: mos.map((m) => -m + (r() - 0.5)), mos },
    // Well-posed fits only: where MOS is no sigmoid of the predictions, the optimum runs off to infinity.
    { name: 'small', pred: small, mos: small.map((x, i) => 5 / (1 + Math.exp(-1.5 * x)) + ((i % 3) - 1) * 0.1) },
  ];
}

const SCIPY = `
import json, sys
import numpy as np
from scipy import stats
from scipy.optimize import curve_fit
def logistic(x, b1, b2, b3, b4):
    return (b1 - b2) / (1 + np.exp(-(x - b3) / np.abs(b4))) + b2
out = []
for c in json.loads(sys.stdin.read()):
    p, m = np.array(c["pred"]), np.array(c["mos"])
    p0 = [m.max(), m.min(), p.mean(), p.std() / 4 or 1]
    b, _ = curve_fit(logistic, p, m, p0=p0, maxfev=100000, ftol=1e-15, xtol=1e-15, gtol=1e-15)
    mapped = logistic(p, *b)
    out.append({"srcc": stats.spearmanr(p, m)[0], "plcc": stats.pearsonr(p, m)[0], "krcc": stats.kendalltau(p, m)[0],
                "rmse": float(np.sqrt(np.mean((p - m) ** 2))), "plcc_logistic": stats.pearsonr(mapped, m)[0],
                "rmse_logistic": float(np.sqrt(np.mean((mapped - m) ** 2)))})
print(json.dumps(out))`;

describe('IQA metrics', () => {
  it('rank ties as scipy does', () => {
    assert.deepEqual(ranks([3, 1, 3, 2]), [3.5, 1, 3.5, 2]);
    assert.equal(spearman([1, 2, 3], [3, 2, 1]), -1);
    assert.equal(kendall([1, 2, 3, 4], [1, 2, 4, 3]), 4 / 6);
  });

  it('match scipy to 1e-6 (SRCC, PLCC, KRCC, RMSE, and PLCC/RMSE after the 4-parameter logistic)', { skip: pythonUnavailable(['scipy', 'numpy']) ?? false }, () => {
    const all = cases();
    const r = python(['-c', SCIPY], { input: JSON.stringify(all) });
    assert.equal(r.status, 0, r.stderr);
    const expected = JSON.parse(r.stdout) as Record<string, number>[];
    all.forEach((c, i) => {
      const ours = evaluate(c.pred, c.mos) as unknown as Record<string, number>;
      for (const key of ['srcc', 'plcc', 'krcc', 'rmse', 'plcc_logistic', 'rmse_logistic']) {
        assert.ok(Math.abs(ours[key]! - expected[i]![key]!) <= 1e-6, `${c.name} ${key}: ${ours[key]} vs scipy ${expected[i]![key]}`);
      }
    });
  });
});
