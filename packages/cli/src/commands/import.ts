import { parseArgs } from 'node:util';

import { PRECISIONS, type Precision } from '@clip-agiqa/core';
import { importModel, type HubProgress, type ImportResult } from '@clip-agiqa/core/import';
import { DEFAULT_PROMPT } from '@clip-agiqa/core/internal';

import { CliUsageError, parseNumber, type CliIO } from '../io.js';
import { hubPrefixHint } from '../hub-id-hint.js';
import { formatSeconds } from '../progress.js';

export const IMPORT_USAGE = `Usage: clip-agiqa import SOURCE [--out DIR] [options]

Imports a CLIP into a model bundle with zero-shot heads, ready for score, info, train, serve and bridge:
  clip-iqa  probability of "Good photo." against "Bad photo." (CLIP-IQA), in [0, 1], higher is better
  levels    expected level over "a photo of {terrible ... perfect} quality.", terrible = 0 ... perfect = 1
SOURCE is
  hf:OWNER/NAME[@REVISION]  a model on the Hugging Face hub in the transformers.js layout, e.g.
                            hf:Xenova/clip-vit-base-patch16 (pinned to the commit the revision resolves
                            to; HF_ENDPOINT replaces the hub's address, HF_TOKEN is sent if set; when
                            the hub fails or HF_HUB_OFFLINE=1, a complete cached copy is used)
  DIR                       a local folder in that layout: onnx/vision_model.onnx (pixel_values ->
                            image_embeds), onnx/text_model.onnx (input_ids, attention_mask -> text_embeds),
                            variants such as onnx/vision_model_quantized.onnx, tokenizer.json and/or
                            vocab.json + merges.txt, preprocessor_config.json, config.json

Options:
  --out DIR             bundle folder to write (absent or empty); hub models default to the cache
  --precisions LIST     reduced-precision image towers to bring, comma-separated: int8 (from
                        vision_model_quantized/_int8/_uint8.onnx, the first found), fp16 (default:
                        every one found); a tower whose embeddings change with the batch (dynamic
                        quantisation) is run one image at a time
  --pair POS|NEG        another clip-iqa prompt pair, e.g. "Sharp photo.|Blurry photo." (repeatable;
                        the score is the mean over pairs, "Good photo.|Bad photo." included)
  --level-template T    level prompt of the levels head (default "${DEFAULT_PROMPT}")
  --min-cosine X        leave out a reduced-precision tower below this cosine to fp32 (default 0.99)
  --name NAME           bundle name      --license TEXT   licence of the weights, for the manifest
  --cache DIR           hub download cache (default $CLIP_AGIQA_CACHE or ~/.cache/clip-agiqa)
  --no-progress         no download progress bar

Then: clip-agiqa score --model DIR [--precision int8] [--head levels] images/`;

function precisionList(value: string | undefined): Precision[] | undefined {
  if (value === undefined) return undefined;
  const list = value.split(',').map((p) => p.trim()).filter(Boolean);
  for (const p of list) if (!PRECISIONS.includes(p as Precision)) throw new CliUsageError(`--precisions: unknown precision ${p} (${PRECISIONS.join(', ')})`);
  return list as Precision[];
}

function pairList(values: string[]): [string, string][] {
  return values.map((v) => {
    const [pos, neg, ...rest] = v.split('|');
    if (!pos?.trim() || !neg?.trim() || rest.length) throw new CliUsageError(`--pair expects "POSITIVE|NEGATIVE", got ${JSON.stringify(v)}`);
    return [pos.trim(), neg.trim()];
  });
}

/** Download progress of one file at a time on a TTY: name, MB done of total, rate. */
function progressLine(stream: NodeJS.WriteStream): { update(p: HubProgress): void; finish(): void } {
  let file = '';
  let started = 0;
  let last = 0;
  return {
    update(p) {
      const now = performance.now();
      if (p.file !== file) {
        if (file) stream.write('\n');
        file = p.file;
        started = now;
      }
      if (now - last < 100 && p.received !== p.total) return;
      last = now;
      const mb = (n: number) => (n / 1e6).toFixed(1);
      const rate = p.received / 1e6 / Math.max((now - started) / 1000, 1e-3);
      const eta = p.total ? formatSeconds((p.total - p.received) / 1e6 / rate) : '?';
      stream.write(`\r  ${p.file}  ${mb(p.received)}${p.total ? `/${mb(p.total)}` : ''} MB  ${rate.toFixed(1)} MB/s  ETA ${eta} `);
    },
    finish() {
      if (file) stream.write('\n');
    },
  };
}

function summary(r: ImportResult): string {
  const m = r.bundle.manifest;
  const towers = Object.entries(m.image_encoder.files).map(([p, f]) => {
    const g = m.image_encoder.accuracy?.[p];
    const alone = m.image_encoder.per_image?.includes(p as Precision) ? '  one image per run: batching would change its embeddings' : '';
    return `    ${p.padEnd(5)} ${f}${g ? `  (cosine to fp32 >= ${g.min_cosine.toFixed(5)}, mean ${g.mean_cosine.toFixed(5)}, ${g.images} ${g.inputs ?? 'inputs'})` : ''}${alone}`;
  });
  const heads = m.heads.map((h) => `    ${h.name.padEnd(9)} ${(h.prompts ?? []).map((g) => g.join(' / ')).join('; ')}`);
  const lines = [
    `${r.imported ? 'imported' : 'already imported'} ${r.source}`,
    `  bundle   ${r.bundle.dir}`,
    `  embed dim ${m.backbone.embed_dim}, input ${m.preprocess.size}px, mean [${m.preprocess.mean.join(', ')}], std [${m.preprocess.std.join(', ')}]`,
    '  image towers', ...towers,
    '  zero-shot heads (score range [0, 1], higher is better)', ...heads,
    ...r.skipped.map((s) => `  not imported: ${s.file}: ${s.reason}`),
    `Score with: clip-agiqa score --model ${r.bundle.dir} IMAGES...`,
  ];
  return `${lines.join('\n')}\n`;
}

export async function importCommand(argv: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv, allowPositionals: true, strict: true,
    options: {
      out: { type: 'string' }, precisions: { type: 'string' }, pair: { type: 'string', multiple: true, default: [] },
      'level-template': { type: 'string' }, 'min-cosine': { type: 'string' }, name: { type: 'string' }, license: { type: 'string' },
      cache: { type: 'string' }, 'no-progress': { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    io.stdout.write(`${IMPORT_USAGE}\n`);
    return 0;
  }
  if (positionals.length !== 1) throw new CliUsageError('import takes one SOURCE (hf:OWNER/NAME[@REVISION] or a folder)');
  const source = positionals[0]!;
  const hint = hubPrefixHint(source, (id) => `clip-agiqa import ${id}${values.out ? ` --out ${values.out}` : ''}`);
  if (hint) throw hint;
  if (!source.startsWith('hf:') && !values.out) throw new CliUsageError('importing a folder needs --out DIR');
  const template = values['level-template'];
  if (template !== undefined && !template.includes('{level}')) throw new CliUsageError('--level-template must contain {level}');
  const stderr = io.stderr;
  const progress = !values['no-progress'] && stderr.isTTY ? progressLine(stderr) : null;
  const result = await importModel(source, {
    ...(values.out ? { out: values.out } : {}),
    ...(values.cache ? { cacheDir: values.cache } : {}),
    ...(values.precisions !== undefined ? { precisions: precisionList(values.precisions) } : {}),
    ...(values['min-cosine'] !== undefined ? { minCosine: parseNumber('min-cosine', values['min-cosine'], (n) => n > 0 && n <= 1, 'a number in (0, 1]')! } : {}),
    ...(values.name ? { name: values.name } : {}),
    ...(values.license ? { license: values.license } : {}),
    zeroShot: {
      ...(values.pair.length ? { clipIqaPairs: [['Good photo.', 'Bad photo.'], ...pairList(values.pair)] } : {}),
      ...(template ? { levelTemplate: template } : {}),
    },
    ...(progress ? { onProgress: (p: HubProgress) => progress.update(p) } : {}),
    onWarning: (message: string) => stderr.write(`clip-agiqa: warning: ${message}\n`),
  }).finally(() => progress?.finish());
  io.stdout.write(summary(result));
  return 0;
}
