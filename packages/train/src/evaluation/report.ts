import type { Metrics } from './metrics.js';
import type { RunResult, Summary } from './protocol.js';

const f = (x: number | undefined, d = 4) => (x === undefined || Number.isNaN(x) ? '–' : x.toFixed(d));
const metricCells = (m: Metrics) => `${f(m.srcc)} | ${f(m.plcc)} | ${f(m.plcc_logistic)} | ${f(m.krcc)} | ${f(m.rmse)}`;
const HEAD = '| SRCC | PLCC | PLCC (logistic) | KRCC | RMSE |';

export function paperMarkdown(title: string, run: RunResult): string {
  const s = run.last.selection;
  return [
    `# ${title}`, '',
    `Protocol \`paper\`: one image-level 80/20 split (seed 42), no validation set; ${run.sizes.train} training and ${run.sizes.test} test images; ${run.seconds.toFixed(0)} s.`, '',
    `| epoch | ${HEAD.slice(2)}`, '| --- | --- | --- | --- | --- | --- |',
    `| last | ${metricCells(run.last.metrics)} |`,
    `| best on test (${run.bestOnTest.epoch}; selected on the test set, as the paper reports) | ${metricCells(run.bestOnTest.metrics)} |`, '',
    `Within-prompt selection on the test set (${s.groups} prompts with two or more test images): pairwise ranking accuracy ${f(s.pairwise_accuracy, 3)}, ` +
      `top-1 agreement ${f(s.top1_agreement, 3)}, MOS gain of best-of-N over a random pick ${Object.entries(s.best_of_n_gain).map(([k, v]) => `${k.replace('n', 'N=')}: ${f(v, 3)}`).join(', ') || '– (too few test images per prompt)'}.`,
    '',
  ].join('\n');
}

export function rigorousMarkdown(title: string, r: { image: RunResult[]; prompt: RunResult[]; summary: { image: Summary; prompt?: Summary } }): string {
  const row = (name: string, s: Summary) => `| ${name} | ${s.runs} | ${(['srcc', 'plcc', 'plcc_logistic', 'krcc', 'rmse'] as const).map((k) => `${f(s.mean[k])} ± ${f(s.std[k])}`).join(' | ')} |`;
  const sel = (runs: RunResult[]) => {
    const ok = runs.map((x) => x.selected!.test.selection).filter((s) => s.groups > 0);
    if (!ok.length) return '–';
    const mean = (k: (s: (typeof ok)[number]) => number) => f(ok.reduce((a, s) => a + k(s), 0) / ok.length, 3);
    return `pairwise ${mean((s) => s.pairwise_accuracy)}, top-1 ${mean((s) => s.top1_agreement)}, best-of-8 gain ${mean((s) => s.best_of_n_gain.n8 ?? NaN)}`;
  };
  return [
    `# ${title}`, '',
    'Protocol `rigorous`: random 80/20 splits, 10% of each training part held out to choose the epoch; test metrics at that epoch, mean ± std.', '',
    `| split | runs | ${HEAD.slice(2)}`, '| --- | --- | --- | --- | --- | --- | --- |',
    row('image-level', r.summary.image),
    ...(r.summary.prompt ? [row('prompt-disjoint', r.summary.prompt)] : []), '',
    `Within-prompt selection (mean over splits): image-level ${sel(r.image)}; prompt-disjoint ${sel(r.prompt)}.`, '',
  ].join('\n');
}
