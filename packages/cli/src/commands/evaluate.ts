import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';

import { evaluate, PAPER_VIEWS, paperSplit, selectionMetrics } from '@clip-agiqa/train';

import { DATASET_HELP, embedWithProgress, loadDataset } from '../datasets.js';
import { CliUsageError, parseNumber, positiveInteger, type CliIO } from '../io.js';
import { SCORER_FLAGS, SCORER_FLAGS_HELP, scorerFromFlags } from '../scorer-flags.js';

export const EMBED_USAGE = `Usage: clip-agiqa embed --dataset NAME --data PATH [--views K] [--seed N] [--cache DIR] [--limit N] [options]

Embeds a dataset with a bundle's image tower into the embedding cache (resumable), for train and eval.

Options:
  --views K          random-resized-crop + flip views per image besides the test view (default
                     ${PAPER_VIEWS}, what train's paper protocol uses; 0: the test view only)
  --seed N           seed of the crop views (default 0, as train's)
  --limit N          use the first N samples only          --cache DIR  embedding cache
${SCORER_FLAGS_HELP}`;

export const EVAL_USAGE = `Usage: clip-agiqa eval --model DIR --dataset NAME --data PATH [--target T] [--head NAME] [--split paper|all] [--report FILE] [options]

Scores a dataset with a bundle's head and reports SRCC, PLCC (raw and logistic), KRCC, RMSE and the
within-prompt selection metrics. --split paper evaluates the test part of the paper's split (the official
code's train_test_split(test_size=0.2, random_state=42) over the label file's rows: the images a model
trained with --protocol paper never saw); all (default) every image.

${DATASET_HELP}
Options:
${SCORER_FLAGS_HELP}`;

const common = {
  ...SCORER_FLAGS, dataset: { type: 'string' }, data: { type: 'string' }, images: { type: 'string' }, cache: { type: 'string' },
  limit: { type: 'string' }, help: { type: 'boolean', short: 'h', default: false },
} as const;

export async function embedCommand(argv: string[], io: CliIO): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { ...common, views: { type: 'string' }, seed: { type: 'string' } }, strict: true });
  if (values.help) {
    io.stdout.write(`${EMBED_USAGE}\n\n${DATASET_HELP}`);
    return 0;
  }
  if (!values.dataset || !values.data) throw new CliUsageError('embed needs --dataset and --data');
  const views = parseNumber('views', values.views, (n) => Number.isInteger(n) && n >= 0, 'a non-negative integer') ?? PAPER_VIEWS;
  const seed = parseNumber('seed', values.seed, Number.isInteger, 'an integer') ?? 0;
  const limit = parseNumber('limit', values.limit, positiveInteger, 'a positive integer');
  const full = loadDataset(values.dataset, values.data, values.images);
  const dataset = limit ? { ...full, samples: full.samples.slice(0, limit) } : full;
  const scorer = await scorerFromFlags(values, io);
  try {
    const e = await embedWithProgress(dataset, scorer, { cacheDir: values.cache, views, seed }, io);
    io.stdout.write(`${dataset.samples.length} images embedded (dim ${e.dim}, ${1 + views} view${views ? 's' : ''}) with ${scorer.model.name}\n`);
    return 0;
  } finally {
    await scorer.close();
  }
}

export async function evalCommand(argv: string[], io: CliIO): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { ...common, target: { type: 'string', default: 'quality' }, head: { type: 'string' },
    split: { type: 'string', default: 'all' }, report: { type: 'string' } }, strict: true });
  if (values.help) {
    io.stdout.write(`${EVAL_USAGE}\n`);
    return 0;
  }
  if (!values.model || !values.dataset || !values.data) throw new CliUsageError('eval needs --model, --dataset and --data');
  if (values.split !== 'all' && values.split !== 'paper') throw new CliUsageError('--split must be all or paper');
  const limit = parseNumber('limit', values.limit, positiveInteger, 'a positive integer');
  const full = loadDataset(values.dataset, values.data, values.images);
  const dataset = limit ? { ...full, samples: full.samples.slice(0, limit) } : full;
  if (!dataset.targets.includes(values.target)) throw new CliUsageError(`--target ${values.target}: ${dataset.name} has ${dataset.targets.join(', ')}`);
  const scorer = await scorerFromFlags(values, io);
  try {
    const head = scorer.model.heads.find((h) => h.name === (values.head ?? scorer.model.heads[0]!.name));
    if (!head) throw new CliUsageError(`--head: no head named ${values.head}`);
    const e = await embedWithProgress(dataset, scorer, { cacheDir: values.cache, views: 0, seed: 0 }, io);
    const indices = values.split === 'paper' ? paperSplit(dataset.samples.length).test : dataset.samples.map((_, i) => i);
    const embeds = new Float32Array(indices.length * e.dim);
    indices.forEach((i, k) => embeds.set(e.test.subarray(i * e.dim, (i + 1) * e.dim), k * e.dim));
    const predictions = scorer.scoreEmbeddings(embeds, indices.length, head.name);
    const mos = indices.map((i) => dataset.samples[i]!.targets[values.target]!);
    const metrics = evaluate(predictions, mos);
    const selection = selectionMetrics(predictions, mos, indices.map((i) => dataset.samples[i]!.group ?? dataset.samples[i]!.id));
    const report = { model: scorer.model, dataset: dataset.name, target: values.target, head: head.name, split: values.split, metrics, selection };
    if (values.report) await writeFile(values.report, `${JSON.stringify(report, null, 2)}\n`);
    const f = (x: number) => (Number.isNaN(x) ? '–' : x.toFixed(4));
    io.stdout.write(`${scorer.model.name} / ${head.name} on ${dataset.name} ${values.target} (${values.split}: ${indices.length} images)\n` +
      `SRCC ${f(metrics.srcc)}  PLCC ${f(metrics.plcc)}  PLCC(logistic) ${f(metrics.plcc_logistic)}  KRCC ${f(metrics.krcc)}  RMSE ${f(metrics.rmse)}\n` +
      `within-prompt: ${selection.groups} prompts, pairwise ${f(selection.pairwise_accuracy)}, top-1 ${f(selection.top1_agreement)}, ` +
      `best-of-N gain ${Object.entries(selection.best_of_n_gain).map(([k, v]) => `${k.replace('n', 'N=')} ${f(v)}`).join(', ') || '–'}\n`);
    return 0;
  } finally {
    await scorer.close();
  }
}
