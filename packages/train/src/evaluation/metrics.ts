import { UsageError } from '@clip-agiqa/core';

/**
 * Correlation and error metrics of image quality assessment: SRCC, PLCC (raw and after the standard
 * 4-parameter logistic mapping), KRCC (tau-b), RMSE. Checked against scipy in the tests.
 */

function check(pred: readonly number[], mos: readonly number[]): void {
  if (pred.length !== mos.length) throw new UsageError('INVALID_ARGUMENT', `predictions (${pred.length}) and MOS (${mos.length}) differ in length`);
  if (pred.length < 2) throw new UsageError('INVALID_ARGUMENT', 'correlations need at least 2 samples');
}

/** Arithmetic mean; NaN for no values. */
export const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

export function pearson(x: readonly number[], y: readonly number[]): number {
  check(x, y);
  const mx = mean(x);
  const my = mean(y);
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < x.length; i++) {
    const dx = x[i]! - mx;
    const dy = y[i]! - my;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  return sxy / Math.sqrt(sxx * syy);
}

/** Ranks from 1, ties sharing their average rank (scipy.stats.rankdata's 'average'). */
export function ranks(x: readonly number[]): number[] {
  const order = x.map((v, i) => [v, i] as const).sort((a, b) => a[0] - b[0]);
  const out = new Array<number>(x.length);
  for (let i = 0; i < order.length; ) {
    let j = i;
    while (j + 1 < order.length && order[j + 1]![0] === order[i]![0]) j++;
    const rank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) out[order[k]![1]] = rank;
    i = j + 1;
  }
  return out;
}

export function spearman(x: readonly number[], y: readonly number[]): number {
  check(x, y);
  return pearson(ranks(x), ranks(y));
}

/** Kendall's tau-b (ties in either variable corrected), as scipy.stats.kendalltau computes it. */
export function kendall(x: readonly number[], y: readonly number[]): number {
  check(x, y);
  let concordant = 0;
  let discordant = 0;
  let tiesX = 0;
  let tiesY = 0;
  for (let i = 0; i < x.length; i++) {
    for (let j = i + 1; j < x.length; j++) {
      const dx = Math.sign(x[i]! - x[j]!);
      const dy = Math.sign(y[i]! - y[j]!);
      if (dx === 0 && dy === 0) continue;
      if (dx === 0) tiesX++;
      else if (dy === 0) tiesY++;
      else if (dx === dy) concordant++;
      else discordant++;
    }
  }
  return (concordant - discordant) / Math.sqrt((concordant + discordant + tiesX) * (concordant + discordant + tiesY));
}

export function rmse(pred: readonly number[], mos: readonly number[]): number {
  check(pred, mos);
  return Math.sqrt(mean(pred.map((p, i) => (p - mos[i]!) ** 2)));
}

/** The VQEG 4-parameter logistic: f(x) = (b1 - b2) / (1 + exp(-(x - b3) / |b4|)) + b2. */
export function logistic4(x: number, b: readonly [number, number, number, number]): number {
  return (b[0] - b[1]) / (1 + Math.exp(-(x - b[2]) / Math.abs(b[3]))) + b[1];
}

function solve(a: number[][], rhs: number[]): number[] | null {
  const n = rhs.length;
  const m = a.map((row, i) => [...row, rhs[i]!]);
  for (let c = 0; c < n; c++) {
    let pivot = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(m[r]![c]!) > Math.abs(m[pivot]![c]!)) pivot = r;
    if (Math.abs(m[pivot]![c]!) < 1e-300) return null;
    [m[c], m[pivot]] = [m[pivot]!, m[c]!];
    for (let r = 0; r < n; r++) {
      if (r === c) continue;
      const f = m[r]![c]! / m[c]![c]!;
      for (let k = c; k <= n; k++) m[r]![k]! -= f * m[c]![k]!;
    }
  }
  return m.map((row, i) => row[n]! / row[i]!);
}

/**
 * Least-squares fit of the 4-parameter logistic from predictions to MOS (Levenberg-Marquardt), started
 * where IQA papers start it: [max MOS, min MOS, mean prediction, std of predictions / 4].
 */
export function fitLogistic4(pred: readonly number[], mos: readonly number[]): [number, number, number, number] {
  check(pred, mos);
  const mp = mean(pred);
  const sd = Math.sqrt(mean(pred.map((p) => (p - mp) ** 2))) || 1;
  let b: [number, number, number, number] = [Math.max(...mos), Math.min(...mos), mp, sd / 4];
  const cost = (p: readonly [number, number, number, number]) => pred.reduce((s, x, i) => s + (logistic4(x, p) - mos[i]!) ** 2, 0);
  let current = cost(b);
  let lambda = 1e-3;
  for (let iter = 0; iter < 1000; iter++) {
    const jtj = [0, 1, 2, 3].map(() => [0, 0, 0, 0]);
    const jtr = [0, 0, 0, 0];
    const s4 = Math.abs(b[3]);
    for (let i = 0; i < pred.length; i++) {
      const z = (pred[i]! - b[2]) / s4;
      const e = Math.exp(-z);
      const g = 1 / (1 + e);
      const dg = g * g * e; // d g / d z
      const r = logistic4(pred[i]!, b) - mos[i]!;
      const j = [g, 1 - g, -(b[0] - b[1]) * dg / s4, -(b[0] - b[1]) * dg * z / s4 * Math.sign(b[3] || 1)];
      for (let p = 0; p < 4; p++) {
        jtr[p]! += j[p]! * r;
        for (let q = 0; q < 4; q++) jtj[p]![q]! += j[p]! * j[q]!;
      }
    }
    let improved = false;
    while (lambda < 1e12) {
      const a = jtj.map((row, p) => row.map((v, q) => (p === q ? v * (1 + lambda) + 1e-300 : v)));
      const step = solve(a, jtr.map((v) => -v));
      if (!step) {
        lambda *= 10;
        continue;
      }
      const candidate = b.map((v, p) => v + step[p]!) as [number, number, number, number];
      const c = cost(candidate);
      if (c < current) {
        const relative = (current - c) / Math.max(current, 1e-300);
        b = candidate;
        current = c;
        lambda = Math.max(lambda / 10, 1e-12);
        improved = relative > 1e-15;
        break;
      }
      lambda *= 10;
    }
    if (!improved) break;
  }
  return b;
}

export interface Metrics {
  srcc: number;
  plcc: number;
  /** PLCC between the logistic-mapped predictions and MOS. */
  plcc_logistic: number;
  krcc: number;
  rmse: number;
  /** RMSE between the logistic-mapped predictions and MOS. */
  rmse_logistic: number;
  n: number;
}

export function evaluate(pred: readonly number[], mos: readonly number[]): Metrics {
  const b = fitLogistic4(pred, mos);
  const mapped = pred.map((p) => logistic4(p, b));
  return {
    srcc: spearman(pred, mos),
    plcc: pearson(pred, mos),
    plcc_logistic: pearson(mapped, mos),
    krcc: kendall(pred, mos),
    rmse: rmse(pred, mos),
    rmse_logistic: rmse(mapped, mos),
    n: pred.length,
  };
}
