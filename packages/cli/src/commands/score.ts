import { open, readFile } from 'node:fs/promises';
import { basename, isAbsolute, join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';

import {
  decide, DEFAULT_LIMITS, isFailure, modelStamp, RESAMPLERS, toScoreRecord, withScoreMetadata, type Resampler, type ScoreOutcome, type ScoreRecord,
} from '@clip-agiqa/core';
import { writeAtomically } from '@clip-agiqa/core/internal';
import { stampOf } from '@clip-agiqa/report';

import { COMBINE_FLAG_HELP, flagPolicy, parseCombine, parseThreshold, THRESHOLD_FLAG_HELP } from '../policy-flags.js';
import { CliUsageError, EXIT_NONE_PASSED, parseNumber, positiveInteger, type CliIO } from '../io.js';
import { expandPaths, IMAGE_EXTENSIONS, PathError } from '../paths.js';
import { formatSeconds, Progress } from '../progress.js';
import { csvHeader, csvRow, textHeader, textRow } from '../records.js';
import { writeScoreReport } from '../html-report.js';
import { PROMPT_FLAGS, PROMPT_FLAGS_HELP, promptsOf } from '../prompts.js';
import { SCORER_FLAGS, SCORER_FLAGS_HELP, scorerFromFlags } from '../scorer-flags.js';

export const SCORE_USAGE = `Usage: clip-agiqa score [options] PATHS...

Scores images with a CLIP-AGIQA model. PATHS are files, folders (walked recursively) or globs.

Options:
${SCORER_FLAGS_HELP}
${PROMPT_FLAGS_HELP}
  --batch-size N         images per image-tower run (default 8 on CPU, 16 on GPUs)
  --head NAME            head that --threshold and --top use (default: the first)
${THRESHOLD_FLAG_HELP}
  --top K                print only the K best, best first, with their rank
${COMBINE_FLAG_HELP}
  --json                 one JSON object per line: {"path", "scores"} or {"path", "error"}
  --csv FILE             also write a CSV table to FILE, row by row as results come
  --html FILE            also write an HTML report: thumbnails ranked, histograms with the cut, failures
  --sidecar              write NAME.agiqa.json beside each scored image (its path relative to the sidecar)
  --write-metadata       record scores in image metadata (PNG iTXt, JPEG XMP), in copies under --out-dir
  --out-dir DIR          where --write-metadata puts the copies
  --in-place             with --write-metadata: modify the originals instead of copies
  --max-pixels N         refuse images with more pixels (default 64000000)
  --allow-unsafe-formats decode SVG and PDF (they can reference external resources)
  --resampler R          pil (default: PIL's bicubic, bit-exact) or libvips (faster on large images, ~0.2/255 off)
  --no-progress          no progress bar
  --fail-if-none-pass    with --threshold: exit 3 when no image passed
  --verbose              ONNX Runtime's own log lines, and stack traces of unexpected errors
Symlinked files and folders are followed. A folder named on the command line that holds no image is
reported as an error row. Text output rounds scores to 4 decimals; --json keeps full precision.
A model with a text tower scores each image that has a prompt against it (clipscore, and the model's
trained alignment head where it has one, e.g. alignment: each its own column); an image without one
shows none of them, and fails when --head clipscore (or alignment) ranks.
Exit status: 0 done, 1 some input failed (every other is still reported), 2 usage error,
3 nothing passed the threshold (only with --fail-if-none-pass).`;

const options = {
  ...SCORER_FLAGS,
  ...PROMPT_FLAGS,
  'batch-size': { type: 'string' },
  head: { type: 'string' },
  threshold: { type: 'string' },
  top: { type: 'string' },
  combine: { type: 'string' },
  json: { type: 'boolean', default: false },
  csv: { type: 'string' },
  html: { type: 'string' },
  sidecar: { type: 'boolean', default: false },
  'write-metadata': { type: 'boolean', default: false },
  'out-dir': { type: 'string' },
  'in-place': { type: 'boolean', default: false },
  'max-pixels': { type: 'string' },
  'allow-unsafe-formats': { type: 'boolean', default: false },
  resampler: { type: 'string', default: 'pil' },
  'no-progress': { type: 'boolean', default: false },
  'fail-if-none-pass': { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof options; allowPositionals: true }>>['values'];

function metadataTarget(path: string, values: Values): string {
  if (values['in-place']) return path;
  const rel = relative(process.cwd(), resolve(path));
  return join(values['out-dir']!, rel.startsWith('..') || isAbsolute(rel) ? basename(path) : rel);
}

export async function scoreCommand(argv: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  if (values.help) {
    io.stdout.write(`${SCORE_USAGE}\n`);
    return 0;
  }
  if (positionals.length === 0) throw new CliUsageError('score needs at least one file, folder or glob');
  if (!RESAMPLERS.includes(values.resampler as Resampler)) throw new CliUsageError(`--resampler must be one of ${RESAMPLERS.join(', ')}`);
  if (values['write-metadata'] && !values['in-place'] && !values['out-dir']) {
    throw new CliUsageError('--write-metadata needs --out-dir DIR for the copies, or --in-place');
  }
  if ((values['in-place'] || values['out-dir']) && !values['write-metadata']) throw new CliUsageError('--in-place and --out-dir go with --write-metadata');
  const batchSize = parseNumber('batch-size', values['batch-size'], positiveInteger, 'a positive integer');
  const top = parseNumber('top', values.top, positiveInteger, 'a positive integer');
  const bars = parseThreshold(values.threshold);
  const maxPixels = parseNumber('max-pixels', values['max-pixels'], positiveInteger, 'a positive integer');
  const combine = values.combine === undefined ? undefined : parseCombine(values.combine);

  if (values['fail-if-none-pass'] && bars === undefined) throw new CliUsageError('--fail-if-none-pass goes with --threshold');
  const clipScore = values['clipscore-scale'];
  if (clipScore !== 'hessel' && clipScore !== 'torchmetrics') throw new CliUsageError('--clipscore-scale must be hessel or torchmetrics');
  if (values.prompt !== undefined && values.prompt.trim() === '') throw new CliUsageError('--prompt is empty');

  let files: string[];
  let emptyFolders: string[];
  try {
    ({ files, empty: emptyFolders } = await expandPaths(positionals));
  } catch (e) {
    if (e instanceof PathError) throw new CliUsageError(e.message);
    throw e;
  }
  if (files.length === 0) throw new CliUsageError(`no images found in ${positionals.join(' ')}`);


  const scorer = await scorerFromFlags(values, io, {
    ...(batchSize ? { batchSize } : {}),
    resampler: values.resampler as Resampler, clipScore,
    limits: { ...(maxPixels ? { maxPixels } : {}), allowUnsafeFormats: values['allow-unsafe-formats'] },
  });
  try {
    const allHeads = scorer.model.heads.map((h) => h.name);
    // A combination ranks in place of --head; the summary and the report name its first head.
    const policy = flagPolicy({ head: values.head, bars, combine }, scorer.model.heads);
    const rankHead = scorer.model.heads.find((h) => h.name === (policy.combine ? decide([], policy, scorer.model.heads).head : values.head ?? allHeads[0]));
    if (!rankHead) throw new CliUsageError(`--head: no head named ${values.head} (heads: ${allHeads.join(', ')})`);
    const ranked = top !== undefined || combine !== undefined;
    const { prompts, unmatched } = await promptsOf(files, values);
    if (unmatched > 0) io.stderr.write(`clip-agiqa: warning: ${unmatched} entr${unmatched === 1 ? 'y' : 'ies'} of ${values.prompts} name no image scored here\n`);
    // Prompt heads get columns when some image has a prompt (or when they rank).
    const withPrompt = prompts.some((p) => p !== undefined);
    // Prompt heads get columns when some image has a prompt, or when the flags name them.
    const combined = !policy.combine ? [] : policy.combine.method === 'weighted' ? Object.keys(policy.combine.weights) : policy.combine.heads;
    const named = new Set([rankHead.name, ...Object.keys(policy.thresholds ?? {}), ...combined]);
    const heads = scorer.model.heads.filter((h) => !h.needsPrompt || withPrompt || named.has(h.name)).map((h) => h.name);
    const columns = { passed: bars !== undefined, rank: ranked, prompt: withPrompt };
    const progress = new Progress(files.length, io.stderr, !values['no-progress'] && io.stderr.isTTY === true);
    // The CSV is written as rows come, so an interrupted run keeps what it scored.
    const csv = values.csv ? await open(values.csv, 'w') : null;
    await csv?.write(csvHeader(heads, columns));
    let sideEffectFailures = 0;
    const toStdout = (text: string) => (io.stdout.isTTY ? progress.above(() => io.stdout.write(text)) : io.stdout.write(text));
    const legend = values.json ? '' : textHeader(heads);
    if (legend) toStdout(legend);

    const passesThreshold = (o: ScoreOutcome) => decide([o], policy, scorer.model.heads).passed.length === 1;
    const emit = async (record: ScoreRecord) => {
      // The CSV row first: every result shown is already in the file.
      await csv?.write(csvRow(record, heads, columns));
      toStdout(values.json ? `${JSON.stringify(record)}\n` : textRow(record, heads));
      if (!('scores' in record)) return;
      // Stored beside the image (or inside it): the path is the image's name, valid wherever the folder moves.
      const stamped = { ...record, path: basename(record.path), model: modelStamp(scorer.model) };
      try {
        if (values.sidecar) await writeAtomically(`${record.path}.agiqa.json`, `${JSON.stringify(stamped, null, 2)}\n`);
        if (values['write-metadata']) {
          const updated = withScoreMetadata(await readFile(record.path), JSON.stringify(stamped));
          await writeAtomically(metadataTarget(record.path, values), updated);
        }
      } catch (e) {
        sideEffectFailures++;
        io.stderr.write(`clip-agiqa: ${record.path}: could not record scores: ${(e as Error).message}\n`);
      }
    };
    const extras = (o: ScoreOutcome) =>
      !isFailure(o) && bars !== undefined ? { passed: passesThreshold(o) } : {};

    for (const folder of emptyFolders) {
      await emit({ path: folder, error: { code: 'NO_IMAGES', message: `no image file in this folder (looked for ${[...IMAGE_EXTENSIONS].join(', ')})` } });
    }
    // Results print in input order as they complete; with --top they print once all are ranked.
    const outcomes: (ScoreOutcome | undefined)[] = new Array(files.length);
    let nextToPrint = 0;
    let printing = Promise.resolve();
    const tasks = files.map((file, index) =>
      scorer.score([{ id: file, image: file, ...(prompts[index] === undefined ? {} : { prompt: prompts[index] }) }], combine ? {} : { requireHead: rankHead.name }).then(async ([outcome]) => {
        const o = { ...outcome!, index };
        outcomes[index] = o;
        progress.tick(isFailure(o));
        if (ranked) return;
        printing = printing.then(async () => {
          while (nextToPrint < files.length && outcomes[nextToPrint]) {
            const ready = outcomes[nextToPrint]!;
            nextToPrint++;
            await emit(toScoreRecord(ready, files[ready.index]!, extras(ready)));
          }
        });
        await printing;
      }));
    await Promise.all(tasks);
    await printing;
    progress.finish();

    const all = outcomes as ScoreOutcome[];
    if (ranked) {
      const { order } = decide(all, policy, scorer.model.heads);
      for (const [r, i] of order.slice(0, top).entries()) await emit(toScoreRecord(all[i]!, files[i]!, { ...extras(all[i]!), rank: r + 1 }));
      const inOrder = new Set(order);
      const unranked = all.filter((o) => !isFailure(o) && !inOrder.has(o.index));
      if (unranked.length) io.stderr.write(`clip-agiqa: ${unranked.length} scored image(s) not ranked: no score on every head --combine names (a prompt head scores only images with a prompt)\n`);
      if (top === undefined) for (const o of unranked) await emit(toScoreRecord(o, files[o.index]!, extras(o)));
      for (const f of all.filter(isFailure)) await emit(toScoreRecord(f, files[f.index]!));
    }
    await csv?.close();

    const failed = all.filter(isFailure).length;
    const scored = all.length - failed;
    // Under --combine the first head may be a prompt head, which images without a prompt have no score on.
    const headScores = all.flatMap((o) => (isFailure(o) || o.scores[rankHead.name] === undefined ? [] : [o.scores[rankHead.name]!]));
    const stats = headScores.length
      ? `; ${rankHead.name} mean ${(headScores.reduce((a, b) => a + b, 0) / headScores.length).toFixed(3)}, ` +
        `min ${headScores.reduce((a, b) => Math.min(a, b)).toFixed(3)}, max ${headScores.reduce((a, b) => Math.max(a, b)).toFixed(3)}`
      : '';
    const passedCount = all.filter(passesThreshold).length;
    const passed = bars !== undefined ? `; ${passedCount} passed ${values.threshold}` : '';
    const rate = scored / Math.max(progress.elapsedSeconds, 1e-3);
    const summary = `${scored} scored, ${failed} failed in ${formatSeconds(progress.elapsedSeconds)} (${rate.toFixed(1)} img/s on ${scorer.device})${stats}${passed}`;
    io.stderr.write(`clip-agiqa: ${summary}\n`);
    if (values.html) {
      await writeScoreReport(values.html, {
        records: all.map((o) => toScoreRecord(o, files[o.index]!, extras(o))), rankHead: rankHead.name, summary, model: stampOf(scorer.model, rankHead),
        heads: scorer.model.heads.filter((h) => heads.includes(h.name)).map((h) => ({ name: h.name, higherIsBetter: h.higherIsBetter, scoreRange: h.scoreRange })),
        cut: { ...(bars && 'threshold' in bars ? { threshold: bars.threshold } : {}), ...(top !== undefined ? { topK: top } : {}) },
      }, { maxPixels: maxPixels ?? DEFAULT_LIMITS.maxPixels });
    }
    if (failed > 0 || sideEffectFailures > 0 || emptyFolders.length > 0) return 1;
    return values['fail-if-none-pass'] && passedCount === 0 ? EXIT_NONE_PASSED : 0;
  } finally {
    await scorer.close();
  }
}
