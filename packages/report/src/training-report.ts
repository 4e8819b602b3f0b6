import { esc, num, page, stamp, table } from './html.js';
import { renderModelStamp, type ModelStamp } from './model-stamp.js';
import { lineChart, scatter, type Series } from './svg.js';

export interface Correlations {
  srcc: number;
  plcc: number;
}

export interface EpochPoint {
  epoch: number;
  loss?: number;
  train?: Correlations;
  val?: Correlations;
  test?: Correlations;
}

export interface BreakdownRow {
  name: string;
  n: number;
  srcc: number;
  plcc: number;
  /** Mean MOS of the group. */
  mos: number;
}

export interface TrainingRun {
  /** e.g. "image-level split, seed 0". */
  label: string;
  history: EpochPoint[];
  /** The epoch whose weights the metrics below are of. */
  selectedEpoch: number;
  /** How it was chosen, e.g. "last epoch" or "best validation SRCC". */
  selectedBy: string;
  /** The epoch with the best test SRCC (what the paper reports). */
  bestOnTestEpoch?: number;
  /** Test metrics at the selected epoch: srcc, plcc, plcc_logistic, krcc, rmse… */
  metrics: Record<string, number>;
  /** Test images at the selected epoch. */
  predictions: { mos: number; prediction: number }[];
  /** The fitted 4-parameter logistic from prediction to MOS, sampled in x order. */
  logisticFit?: { x: number; y: number }[];
  /** Per generator (or category) test metrics, where the dataset says which. */
  breakdown?: { by: string; rows: BreakdownRow[] };
  selection?: { groups: number; pairwise_accuracy: number; top1_agreement: number; best_of_n_gain: Record<string, number> };
}

export interface TrainingReportData {
  title: string;
  model?: ModelStamp;
  /** Facts shown under the title: protocol, dataset, target, head, recipe… */
  facts: [string, string][];
  /** The summary line. */
  summary: string;
  /** Aggregate rows, e.g. mean ± std over splits per split kind. */
  aggregate?: { caption: string; headers: string[]; rows: string[][] };
  /** Runs shown in full (curves, scatter, breakdown); others go in `otherRuns`. */
  runs: TrainingRun[];
  otherRuns?: TrainingRun[];
  generatedAt?: string;
}

const METRIC_KEYS = [['srcc', 'SRCC'], ['plcc', 'PLCC'], ['plcc_logistic', 'PLCC (logistic)'], ['krcc', 'KRCC'], ['rmse', 'RMSE']] as const;

function curves(run: TrainingRun, metric: 'srcc' | 'plcc'): string {
  const parts = ['train', 'val', 'test'] as const;
  const names = { train: 'train', val: 'validation', test: 'test' };
  const series: Series[] = parts
    .filter((p) => run.history.some((h) => h[p]))
    .map((p) => ({ name: names[p], dashed: p === 'train', points: run.history.filter((h) => h[p]).map((h) => ({ x: h.epoch, y: h[p]![metric] })) }));
  const label = metric.toUpperCase();
  return `<figure class="chart" data-metric="${metric}">${lineChart({
    title: `${label} per epoch, ${run.label}`, xLabel: 'epoch', yLabel: label, series,
    marker: { x: run.selectedEpoch, label: `selected: epoch ${run.selectedEpoch}` },
  })}<figcaption>${label} per epoch (${series.map((s) => s.name).join(', ')}); dotted line: the selected epoch ${run.selectedEpoch} (${esc(run.selectedBy)}).</figcaption></figure>`;
}

function scatterFigure(run: TrainingRun): string {
  return `<figure class="chart" data-chart="scatter">${scatter({
    title: `Predicted score against MOS, ${run.label}`, xLabel: 'predicted score', yLabel: 'MOS',
    points: run.predictions.map((p) => ({ x: p.prediction, y: p.mos })),
    ...(run.logisticFit ? { curve: { name: '4-parameter logistic fit', points: run.logisticFit } } : {}),
  })}<figcaption>${run.predictions.length} test images at epoch ${run.selectedEpoch}; the curve is the logistic mapping behind PLCC (logistic).</figcaption></figure>`;
}

function runSection(run: TrainingRun, i: number): string {
  const metricRow = METRIC_KEYS.map(([k]) => num(run.metrics[k], 4));
  const sel = run.selection;
  const gains = sel ? Object.entries(sel.best_of_n_gain).map(([k, v]) => `${k.replace('n', 'best of ')}: ${num(v, 3)}`).join(', ') : '';
  const everyEpoch = run.history.map((h) => [String(h.epoch), num(h.loss, 4), num(h.train?.srcc, 4), num(h.val?.srcc, 4), num(h.test?.srcc, 4), num(h.test?.plcc, 4)]);
  return `<section id="run-${i}" class="run" aria-labelledby="run-${i}-h"><h2 id="run-${i}-h">${esc(run.label)}</h2>
${table(`Test metrics at epoch ${run.selectedEpoch} (${run.selectedBy})`, METRIC_KEYS.map(([, l]) => `#${l}`), [metricRow], ' class="metrics"')}
<div class="charts">${curves(run, 'srcc')}${curves(run, 'plcc')}${scatterFigure(run)}</div>
${run.bestOnTestEpoch ? `<p class="muted">Best test SRCC at epoch ${run.bestOnTestEpoch} (chosen on the test set, as the paper reports).</p>` : ''}
${sel ? `<h3>Within-prompt selection</h3><p class="selection">${sel.groups ? `${sel.groups} prompts with two or more test images: pairwise ranking accuracy <strong>${num(sel.pairwise_accuracy)}</strong>, top-1 agreement <strong>${num(sel.top1_agreement)}</strong>, MOS gained over a random pick: ${gains || '– (too few images per prompt)'}.` : 'No prompt has two or more test images.'}</p>` : ''}
${run.breakdown?.rows.length ? `<h3>By ${esc(run.breakdown.by)}</h3>${table(`Test metrics per ${run.breakdown.by} at epoch ${run.selectedEpoch}`, [run.breakdown.by, '#images', '#mean MOS', '#SRCC', '#PLCC'],
    run.breakdown.rows.map((r) => [esc(r.name), String(r.n), num(r.mos), num(r.srcc, 4), num(r.plcc, 4)]), ' class="breakdown"')}` : ''}
<details><summary>Every epoch</summary>${table('Loss and correlations per epoch (train measured on a fixed subsample)', ['#epoch', '#loss', '#train SRCC', '#val SRCC', '#test SRCC', '#test PLCC'], everyEpoch, ' class="epochs"')}</details>
</section>`;
}

export function renderTrainingReport(d: TrainingReportData): string {
  const others = d.otherRuns ?? [];
  const otherTable = others.length
    ? `<section id="other-runs" aria-labelledby="other-runs-h"><h2 id="other-runs-h">Other splits</h2>${table(`${others.length} further runs (their curves are in the JSON report)`,
        ['run', '#selected epoch', ...METRIC_KEYS.map(([, l]) => `#${l}`)], others.map((r) => [esc(r.label), String(r.selectedEpoch), ...METRIC_KEYS.map(([k]) => num(r.metrics[k], 4))]))}</section>`
    : '';
  const body = `<header><h1>${esc(d.title)}</h1>
<p class="summary" id="summary">${esc(d.summary)}</p>
${renderModelStamp(d.model, d.generatedAt ? [['generated', esc(d.generatedAt)]] : [])}
${stamp('run', d.facts.map(([k, v]) => [k, esc(v)]))}
</header>
<main>
${d.aggregate ? `<section id="aggregate" aria-labelledby="aggregate-h"><h2 id="aggregate-h">Summary</h2>${table(d.aggregate.caption, d.aggregate.headers, d.aggregate.rows, ' class="aggregate"')}</section>` : ''}
${d.runs.map(runSection).join('\n')}
${otherTable}
</main>`;
  return page({ title: d.title, body, style: 'details { margin: 8px 0; } summary { cursor: pointer; color: var(--accent); } table.metrics, table.breakdown, table.aggregate { width: auto; min-width: 50%; }' });
}
