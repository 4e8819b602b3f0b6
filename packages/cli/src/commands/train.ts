import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';

import {
  alignHeadModel, anchoredHeadModel, categoryPrompt, embedPrompts, pairEmbeddings, DEFAULT_CATEGORIES, DEFAULT_PROMPT, evenLevelValues, levelPromptEmbeddings, mlpHeadModel, OrtBackend,
  generatorCounts, paperMarkdown, paperProtocol, PAPER_RECIPE, PAPER_VIEWS, rigorousMarkdown, rigorousProtocol, stratifiedSubset, writeTrainedBundle, type HeadModel,
} from '@clip-agiqa/train';
import type { Bundle } from '@clip-agiqa/core';

import { DATASET_HELP, defaultEmbeddingCache, embedWithProgress, loadDataset, runEstimate } from '../datasets.js';

import { CliUsageError, parseNumber, positiveInteger, type CliIO } from '../io.js';
import { SCORER_FLAGS, SCORER_FLAGS_HELP, scorerFromFlags, threadsFlag } from '../scorer-flags.js';
import { formatSeconds } from '../progress.js';
import { trainingReportHtml } from '../training-report.js';

/** Images the quick recipe trains on unless --limit says otherwise: about 70 s of fp32 ViT-B/16 embedding at the 7 img/s measured on 2 cores. */
export const QUICK_IMAGES = 500;

export const TRAIN_USAGE = `Usage: clip-agiqa train --dataset NAME --data PATH [options]

Trains a CLIP-AGIQA head on a bundle's frozen image tower and evaluates it.

${DATASET_HELP}
Options:
  --target T         quality (default), alignment, authenticity, correspondence (as the dataset has):
                     a head that scores the image alone; align: a head that scores an image against
                     its prompt (text-image alignment), trained on the dataset's alignment MOS
                     (AGIQA-3K mos_align, AIGCIQA2023 correspondence); it needs a model with a text
                     tower, and --out writes it as head "alignment" beside the model's quality heads
  --head H           mlp (default): the paper's head; anchored: expected MOS over the six levels
                     per category plus a small MLP residual (beyond the paper)
  --categories LIST  anchored head's categories (default ${DEFAULT_CATEGORIES.join(',')})
  --protocol P       paper (default): the official 80/20 split (scikit-learn's train_test_split,
                     test_size 0.2, random_state 42, over the label file's rows), no validation set;
                     rigorous: 10 splits with a validation set, image-level and prompt-disjoint
  --out DIR          write a bundle with the trained head (paper protocol)
  --report FILE      JSON report (default: clip-agiqa-report.json; Markdown and HTML beside it)
  --epochs N         (default 100)
  --views K          cached random-resized-crop + flip views per image, epoch e trains on view e mod K
                     (default ${PAPER_VIEWS} under the paper protocol, as the official code crops every epoch:
                     K more image-tower passes per image, once; 0 under rigorous; 0 = centre crop only)
  --seed N           seed of the crop views (default 0)   --splits N  rigorous splits (default 10)
  --quick            a first run in minutes: ${QUICK_IMAGES} images (--limit N for another count) drawn across
                     the generators in their proportions, centre crop only (no crop views), the
                     paper's head and schedule; the full paper recipe stays the default
  --limit N          use the first N samples only (with --quick: N images across generators)
  --cache DIR        embedding cache
  --prompt TEMPLATE  (default "${DEFAULT_PROMPT}")
${SCORER_FLAGS_HELP}`;

const options = {
  dataset: { type: 'string' }, data: { type: 'string' }, images: { type: 'string' }, target: { type: 'string', default: 'quality' },
  ...SCORER_FLAGS, protocol: { type: 'string', default: 'paper' }, out: { type: 'string' }, report: { type: 'string', default: 'clip-agiqa-report.json' },
  epochs: { type: 'string' }, views: { type: 'string' }, seed: { type: 'string' }, splits: { type: 'string' }, limit: { type: 'string' },
  quick: { type: 'boolean', default: false },
  cache: { type: 'string' },
  prompt: { type: 'string', default: DEFAULT_PROMPT }, head: { type: 'string', default: 'mlp' },
  categories: { type: 'string', default: DEFAULT_CATEGORIES.join(',') }, help: { type: 'boolean', short: 'h', default: false },
} as const;

export async function trainCommand(argv: string[], io: CliIO): Promise<number> {
  const { values } = parseArgs({ args: argv, options, strict: true });
  if (values.help) {
    io.stdout.write(`${TRAIN_USAGE}\n`);
    return 0;
  }
  if (!values.dataset || !values.data) throw new CliUsageError('train needs --dataset and --data');
  if (values.protocol !== 'paper' && values.protocol !== 'rigorous') throw new CliUsageError('--protocol must be paper or rigorous');
  if (values.head !== 'mlp' && values.head !== 'anchored') throw new CliUsageError('--head must be mlp or anchored');
  const categories = values.categories.split(',').map((c) => c.trim());
  if (categories.some((c) => !/^[a-z][a-z0-9_-]*$/.test(c)) || new Set(categories).size !== categories.length) {
    throw new CliUsageError('--categories must be distinct lower-case names separated by commas, e.g. overall,technical');
  }
  if (values.out && values.protocol !== 'paper') throw new CliUsageError('--out goes with --protocol paper');
  const epochs = parseNumber('epochs', values.epochs, positiveInteger, 'a positive integer');
  if (values.quick && values.views !== undefined) throw new CliUsageError('--quick trains on the centre crop only: leave out --views, or leave out --quick for the full recipe');
  const views = parseNumber('views', values.views, (n) => Number.isInteger(n) && n >= 0, 'a non-negative integer')
    ?? (values.protocol === 'paper' && !values.quick ? PAPER_VIEWS : 0);
  const seed = parseNumber('seed', values.seed, Number.isInteger, 'an integer') ?? 0;
  const splits = parseNumber('splits', values.splits, positiveInteger, 'a positive integer') ?? 10;
  const limit = parseNumber('limit', values.limit, positiveInteger, 'a positive integer');
  const threads = threadsFlag(values);

  const started = performance.now();
  const full = loadDataset(values.dataset, values.data, values.images);
  const dataset = values.quick ? stratifiedSubset(full, limit ?? QUICK_IMAGES) : limit ? { ...full, samples: full.samples.slice(0, limit) } : full;
  const align = values.target === ALIGN_TARGET;
  const target = align ? alignmentTarget(dataset.name, dataset.targets) : values.target;
  if (!dataset.targets.includes(target)) throw new CliUsageError(`--target ${values.target}: ${dataset.name} has ${dataset.targets.join(', ')}${align ? '' : `, or ${ALIGN_TARGET}`}`);
  if (align && values.head !== 'mlp') throw new CliUsageError(`--target ${ALIGN_TARGET} trains the alignment head: leave out --head`);
  io.stderr.write(`clip-agiqa: ${dataset.name}: ${dataset.samples.length} images, target ${align ? `${ALIGN_TARGET} (${target}, scored against each image's prompt)` : target}\n`);
  if (values.quick) {
    const mix = generatorCounts(dataset).map(([g, k]) => `${g} ${k}`).join(', ');
    io.stderr.write(`clip-agiqa: quick recipe: ${dataset.samples.length} of ${full.samples.length} images across generators (${mix}), centre crop only; without --quick the full recipe runs\n`);
  }

  const scorer = await scorerFromFlags(values, io);
  const backend = await OrtBackend.create(threads);
  try {
    if (align && !scorer.bundle.manifest.text_encoder) {
      throw new CliUsageError(`--target ${ALIGN_TARGET} reads prompts, and the model ${scorer.model.name} has no text tower: use a bundle with one (e.g. one made by clip-agiqa import)`);
    }
    const model = align ? alignHeadModel(scorer.model.embedDim, PAPER_RECIPE.hidden)
      : await headModel(values.head, scorer.bundle, scorer.model.embedDim, values.prompt, categories, dataset.scale, io);
    const cacheDir = values.cache ?? defaultEmbeddingCache();
    io.stderr.write(`clip-agiqa: ${await runEstimate({ dataset, scorer, model, backend, cacheDir, views, seed, epochs: epochs ?? PAPER_RECIPE.epochs, rigorousSplits: values.protocol === 'rigorous' ? splits : 0 })}\n`);
    const imageEmbeddings = await embedWithProgress(dataset, scorer, { cacheDir, views, seed }, io);
    const embeddings = align ? pairEmbeddings(imageEmbeddings, await embedPrompts(dataset, { scorer, cacheDir })) : imageEmbeddings;
    const recipe = epochs ? { epochs } : {};
    const log = (line: string) => io.stderr.isTTY && io.stderr.write(`\r${line}   `);
    const common = { dataset, target, embeddings, model, backend, recipe, onLog: log };
    const title = `CLIP-AGIQA head (${model.kind}) on ${dataset.name} (${target}), tower ${scorer.model.name}${scorer.model.untrained ? ' [random weights]' : ''}`;
    let report: object;
    let markdown: string;
    let html: string;
    const facts: [string, string][] = [['protocol', values.protocol], ['dataset', `${dataset.name} (${dataset.samples.length} images)`], ['target', target],
      ['head', model.kind], ['epochs', String(epochs ?? PAPER_RECIPE.epochs)], ['crop views', String(views)]];
    if (values.protocol === 'paper') {
      const { run, params } = await paperProtocol(common);
      report = { protocol: 'paper', head: model.kind, dataset: dataset.name, target, model: scorer.model, recipe, views, run };
      markdown = paperMarkdown(title, run);
      html = trainingReportHtml({ title, dataset, model: scorer.model, facts, paper: run });
      if (values.out) {
        const scale = dataset.scale;
        await writeTrainedBundle(scorer.bundle, values.out, [{
          name: align ? ALIGN_HEAD : target, model, params, scoreRange: scale, promptTemplate: values.prompt,
          training: { dataset: dataset.name, target, protocol: 'paper (official train_test_split 80/20, random_state 42, last epoch)',
            metrics: { srcc: run.last.metrics.srcc, plcc: run.last.metrics.plcc, krcc: run.last.metrics.krcc, rmse: run.last.metrics.rmse } },
        }], `clip-agiqa-${dataset.name.toLowerCase()}-${values.target}`);
        io.stderr.write(`\nclip-agiqa: wrote the trained bundle to ${values.out}\n`);
      }
    } else {
      const result = await rigorousProtocol(common, splits);
      report = { protocol: 'rigorous', head: model.kind, dataset: dataset.name, target, model: scorer.model, recipe, views, ...result };
      markdown = rigorousMarkdown(title, result);
      html = trainingReportHtml({ title, dataset, model: scorer.model, facts, rigorous: result });
    }
    await mkdir(dirname(values.report), { recursive: true });
    await writeFile(values.report, `${JSON.stringify(report, null, 2)}\n`);
    await writeFile(values.report.replace(/\.json$/, '') + '.md', markdown);
    await writeFile(values.report.replace(/\.json$/, '') + '.html', html);
    io.stdout.write(`\n${markdown}\nreport: ${values.report}; ${formatSeconds((performance.now() - started) / 1000)} in all\n`);
    return 0;
  } finally {
    await backend.close();
    await scorer.close();
  }
}

/** The --target that trains the head scoring an image against its prompt, and the name --out gives that head. */
export const ALIGN_TARGET = 'align';
export const ALIGN_HEAD = 'alignment';

/** The dataset's text-image alignment MOS: AGIQA-3K's alignment, AIGCIQA2023's correspondence. */
function alignmentTarget(name: string, targets: readonly string[]): string {
  const found = ['alignment', 'correspondence'].find((t) => targets.includes(t));
  if (!found) throw new CliUsageError(`--target ${ALIGN_TARGET}: ${name} has no text-image alignment ratings (it has ${targets.join(', ')})`);
  return found;
}

async function headModel(kind: string, bundle: Bundle, dim: number, prompt: string, requested: string[], scale: [number, number], io: CliIO): Promise<HeadModel> {
  if (kind === 'mlp') return mlpHeadModel(await levelPromptEmbeddings(bundle, prompt), dim, PAPER_RECIPE.hidden);
  // Without a text tower every category would start from the same stored level features, get the same
  // gradients and stay identical: one category is then all there is to learn.
  const categories = bundle.manifest.text_encoder ? requested : requested.slice(0, 1);
  if (categories.length < requested.length) {
    io.stderr.write(`clip-agiqa: ${bundle.manifest.name} has no text tower to encode each category's prompts; training one category (${categories[0]}).\n`);
  }
  const levelInit = await levelPromptEmbeddings(bundle, categories.map(categoryPrompt));
  return anchoredHeadModel({ dim, categories, levelInit, levelValues: evenLevelValues(scale) });
}
