import type { ModelInfo } from '@clip-agiqa/core';
import { renderTrainingReport, stampOf, type BreakdownRow, type TrainingRun } from '@clip-agiqa/report';
import { fitLogistic4, logistic4, mean, pearson, spearman, type Dataset, type RunResult, type Summary } from '@clip-agiqa/train';

const FIT_POINTS = 80;

function logisticCurve(pred: number[], mos: number[]): { x: number; y: number }[] {
  const b = fitLogistic4(pred, mos);
  const lo = Math.min(...pred);
  const hi = Math.max(...pred);
  return Array.from({ length: FIT_POINTS + 1 }, (_, i) => lo + ((hi - lo) * i) / FIT_POINTS).map((x) => ({ x, y: logistic4(x, b) }));
}

/** Test metrics per generator, for groups of at least 3 test images. */
function byGenerator(predictions: RunResult['last']['predictions'], dataset: Dataset): TrainingRun['breakdown'] {
  const generatorOf = new Map(dataset.samples.map((s) => [s.id, s.generator]));
  const groups = new Map<string, { pred: number[]; mos: number[] }>();
  for (const p of predictions) {
    const g = generatorOf.get(p.id);
    if (g === undefined) continue;
    const group = groups.get(g) ?? { pred: [], mos: [] };
    group.pred.push(p.prediction);
    group.mos.push(p.mos);
    groups.set(g, group);
  }
  const rows: BreakdownRow[] = [...groups].filter(([, v]) => v.pred.length >= 3).sort(([a], [b]) => a.localeCompare(b))
    .map(([name, v]) => ({ name, n: v.pred.length, srcc: spearman(v.pred, v.mos), plcc: pearson(v.pred, v.mos), mos: mean(v.mos) }));
  return rows.length ? { by: 'generator', rows } : undefined;
}

function trainingRun(run: RunResult, dataset: Dataset): TrainingRun {
  const evaluation = run.selected ? run.selected.test : run.last;
  const pred = evaluation.predictions.map((p) => p.prediction);
  const mos = evaluation.predictions.map((p) => p.mos);
  const breakdown = byGenerator(evaluation.predictions, dataset);
  return {
    label: `${run.split === 'image' ? 'image-level' : 'prompt-disjoint'} split, seed ${run.seed} (${run.sizes.train} train${run.sizes.val ? `, ${run.sizes.val} validation` : ''}, ${run.sizes.test} test)`,
    history: run.history,
    selectedEpoch: run.selected ? run.selected.epoch : run.history.length,
    selectedBy: run.selected ? 'best validation SRCC' : 'last epoch',
    bestOnTestEpoch: run.bestOnTest.epoch,
    metrics: { ...evaluation.metrics },
    predictions: evaluation.predictions,
    ...(pred.length >= 4 ? { logisticFit: logisticCurve(pred, mos) } : {}),
    ...(breakdown ? { breakdown } : {}),
    selection: evaluation.selection,
  };
}

const f4 = (x: number | undefined) => (x === undefined || !Number.isFinite(x) ? '–' : x.toFixed(4));

export interface TrainingReportInput {
  title: string;
  dataset: Dataset;
  model: ModelInfo;
  facts: [string, string][];
  paper?: RunResult;
  rigorous?: { image: RunResult[]; prompt: RunResult[]; summary: { image: Summary; prompt?: Summary } };
}

/** The training report page: learning curves, predicted-vs-MOS scatter with the logistic fit, breakdowns, selection metrics. */
export function trainingReportHtml(i: TrainingReportInput): string {
  const common = { title: i.title, model: stampOf(i.model), facts: i.facts, generatedAt: new Date().toISOString() };
  if (i.paper) {
    const m = i.paper.last.metrics;
    return renderTrainingReport({
      ...common, runs: [trainingRun(i.paper, i.dataset)],
      summary: `Test SRCC ${f4(m.srcc)}, PLCC ${f4(m.plcc)} on ${i.paper.sizes.test} images after the last of ${i.paper.history.length} epochs (best test SRCC ${f4(i.paper.bestOnTest.metrics.srcc)} at epoch ${i.paper.bestOnTest.epoch}).`,
    });
  }
  const r = i.rigorous!;
  const kinds = [['image-level', r.image, r.summary.image], ...(r.summary.prompt ? [['prompt-disjoint', r.prompt, r.summary.prompt] as const] : [])] as const;
  const keys = ['srcc', 'plcc', 'plcc_logistic', 'krcc', 'rmse'];
  return renderTrainingReport({
    ...common,
    summary: kinds.map(([name, , s]) => `${name}: test SRCC ${f4(s.mean.srcc)} ± ${f4(s.std.srcc)}, PLCC ${f4(s.mean.plcc)} ± ${f4(s.std.plcc)} over ${s.runs} splits`).join('; '),
    aggregate: {
      caption: 'Test metrics at the epoch chosen on validation, mean ± std over splits',
      headers: ['split', '#runs', '#SRCC', '#PLCC', '#PLCC (logistic)', '#KRCC', '#RMSE'],
      rows: kinds.map(([name, , s]) => [name, String(s.runs), ...keys.map((k) => `${f4(s.mean[k])} ± ${f4(s.std[k])}`)]),
    },
    runs: kinds.map(([, runs]) => trainingRun(runs[0]!, i.dataset)),
    otherRuns: kinds.flatMap(([, runs]) => runs.slice(1).map((run) => trainingRun(run, i.dataset))),
  });
}
