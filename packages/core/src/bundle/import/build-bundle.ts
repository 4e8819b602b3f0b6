import { constants } from 'node:fs';
import { copyFile, link, mkdir } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

import type * as Ort from 'onnxruntime-node';

import { ImportError } from '../../errors.js';
import type { ModelBundleManifest } from '../../generated/model-bundle.js';
import { onnxRuntime } from '../../runtime/native.js';
import type { TextEncoderEntry } from '../../text/text-tower.js';
import { requireFinite } from '../../util/finite.js';
import { type Bundle, type Precision } from '../load.js';
import { writeBundle } from '../write-bundle.js';
import { guardInputs, openOnnx, requireIo, runProbe } from './onnx-probe.js';
import { preprocessFromConfig } from './preprocessor.js';
import { readSourceLayout, type SourceLayout } from './source-layout.js';
import { importTokenizer } from './tokenizer-files.js';
import { writeZeroShotHeads, type ZeroShotOptions } from './zero-shot-heads.js';

export interface BuildOptions {
  /** Reduced precisions to bring over (default: every variant found); fp32 always comes. */
  precisions?: readonly Precision[];
  /** Leave out a variant whose embeddings fall below this cosine to fp32's (default 0.99). */
  minCosine?: number;
  zeroShot?: ZeroShotOptions;
  name?: string;
  license?: string;
  /** Hard-link the source's files instead of copying them (same file system; used for the hub cache). */
  link?: boolean;
  /** The sha256 of source files already checked as they were downloaded, by path in the source: not hashed again. */
  sourceDigests?: Readonly<Record<string, { sha256: string; bytes: number }>>;
  /** Where the record that the bundle's files were verified goes (default: the model cache). */
  cacheDir?: string;
}

export interface BuildReport {
  bundle: Bundle;
  /** Source files not imported, with the reason. */
  skipped: { file: string; reason: string }[];
}

const GUARD_IMAGES = 4;
const DEFAULT_MIN_COSINE = 0.99;

async function place(from: string, to: string, hardLink: boolean): Promise<void> {
  await mkdir(dirname(to), { recursive: true });
  if (hardLink) {
    try {
      await link(from, to);
      return;
    } catch {
      // another file system: copy
    }
  }
  await copyFile(from, to, constants.COPYFILE_FICLONE);
}

function cosines(a: Float32Array, b: Float32Array, dim: number): number[] {
  const out: number[] = [];
  for (let r = 0; r < a.length / dim; r++) {
    let ab = 0, aa = 0, bb = 0;
    for (let i = r * dim; i < (r + 1) * dim; i++) {
      ab += a[i]! * b[i]!;
      aa += a[i]! ** 2;
      bb += b[i]! ** 2;
    }
    out.push(ab / Math.sqrt(aa * bb));
  }
  return out;
}

/** Why the scorer cannot feed this tower (it sends float32 pixels and reads float32 embeddings), or null. */
function ioTypeProblem(session: Ort.InferenceSession): string | null {
  const type = (list: readonly Ort.InferenceSession.ValueMetadata[], name: string) => {
    const m = list.find((x) => x.name === name);
    return m?.isTensor ? m.type : 'float32';
  };
  const input = type(session.inputMetadata, 'pixel_values');
  const output = type(session.outputMetadata, 'image_embeds');
  return input === 'float32' && output === 'float32' ? null : `it takes ${input} pixel_values and gives ${output} image_embeds; the scorer feeds and reads float32`;
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

interface GuardRun {
  /** The guard images' embeddings, each computed alone: what the scorer gets for them whatever the batch. */
  data: Float32Array;
  dim: number;
  /** Largest difference between an embedding computed alone and inside the guard's batch. */
  batchDiff: number;
}

/** Runs the guard images through a tower alone and as one batch; NaN or Inf in an embedding refuses the tower. */
async function embedGuard(path: string, size: number): Promise<GuardRun | { unusable: string }> {
  const session = await openOnnx(path);
  try {
    requireIo(session, path, ['pixel_values'], 'image_embeds', 'image tower');
    const problem = ioTypeProblem(session);
    if (problem) return { unusable: problem };
    const plane = 3 * size * size;
    const inputs = guardInputs(GUARD_IMAGES * plane, 1);
    const run = (from: number, count: number) => runProbe(session, path,
      { pixel_values: new (onnxRuntime().Tensor)('float32', inputs.slice(from * plane, (from + count) * plane), [count, 3, size, size]) }, 'image_embeds', count,
      (m) => new ImportError('UNSUPPORTED_PREPROCESS', `it does not take the ${size}x${size} images preprocessor_config.json describes: ${m}`, { input: path }));
    const batched = await run(0, GUARD_IMAGES);
    const alone = new Float32Array(batched.data.length);
    for (let i = 0; i < GUARD_IMAGES; i++) alone.set((await run(i, 1)).data, i * batched.dim);
    requireFinite(alone, `${basename(path)} image_embeds`, path);
    return { data: alone, dim: batched.dim, batchDiff: maxAbsDiff(alone, batched.data) };
  } finally {
    await session.release();
  }
}

function textConfig(layout: SourceLayout): { vocab_size?: number; max_position_embeddings?: number } {
  return (layout.config?.text_config ?? {}) as { vocab_size?: number; max_position_embeddings?: number };
}

/** Opens the text tower, checks it against the tokenizer, and returns its manifest entry and embed dim. */
async function probeTextTower(layout: SourceLayout, out: string): Promise<{ entry: TextEncoderEntry; dim: number }> {
  const path = join(layout.dir, layout.text!);
  const tokenizer = await importTokenizer(layout, out);
  const config = textConfig(layout);
  if (config.vocab_size !== undefined && config.vocab_size !== tokenizer.size) {
    throw new ImportError('TOKENIZER_MISMATCH', `the tokenizer has ${tokenizer.size} tokens, config.json's text model ${config.vocab_size}`, { input: tokenizer.source });
  }
  const session = await openOnnx(path);
  try {
    requireIo(session, path, ['input_ids'], 'text_embeds', 'text tower');
    const mask = session.inputNames.includes('attention_mask') ? 'attention_mask' : undefined;
    const shape = session.inputMetadata.find((m) => m.name === 'input_ids');
    const fixed = shape?.isTensor ? shape.shape[1] : undefined;
    const ctx = config.max_position_embeddings ?? (typeof fixed === 'number' ? fixed : 77);
    // Every id the tokenizer can produce must index the text model's embedding table: probe the largest.
    const ids = new BigInt64Array(ctx);
    ids.set([BigInt(tokenizer.vocab['<|startoftext|>']!), BigInt(tokenizer.size - 1), BigInt(tokenizer.vocab['<|endoftext|>']!)]);
    const feeds: Record<string, Ort.Tensor> = { input_ids: new (onnxRuntime().Tensor)('int64', ids, [1, ctx]) };
    if (mask) feeds[mask] = new (onnxRuntime().Tensor)('int64', new BigInt64Array(ctx).fill(1n), [1, ctx]);
    const { dim } = await runProbe(session, path, feeds, 'text_embeds', 1, (m) => /out of (data )?bounds|indices/i.test(m)
      ? new ImportError('TOKENIZER_MISMATCH', `token id ${tokenizer.size - 1} is beyond ${basename(path)}'s embedding table (${m}): this tokenizer belongs to another text model`, { input: tokenizer.source })
      : new ImportError('CORRUPT_ONNX', m, { input: path }));
    return {
      dim,
      entry: {
        file: 'text_encoder.onnx', input: 'input_ids', ...(mask ? { attention_mask: mask } : {}), output: 'text_embeds', context_length: ctx,
        tokenizer: { kind: 'clip-bpe', vocab: 'tokenizer/vocab.json', merges: 'tokenizer/merges.txt' },
      },
    };
  } finally {
    await session.release();
  }
}

type Accuracy = NonNullable<ModelBundleManifest['image_encoder']['accuracy']>;

interface ImportedTowers {
  files: Partial<Record<Precision, string>>;
  accuracy: Accuracy;
  /** Precisions whose output for an image moved with its batch: the scorer runs them one image at a time. */
  perImage: Precision[];
  dim: number;
  skipped: BuildReport['skipped'];
}

/**
 * Probes the source's image towers: fp32 must work; each reduced precision must stay within the cosine
 * guard of fp32. A tower whose embedding of an image differs alone and inside a batch (dynamic
 * quantisation scales activations per tensor, and the tensor is the whole batch) is marked to run one
 * image per call, so that every imported tower is batch-invariant whatever produced it.
 */
async function importImageTowers(layout: SourceLayout, size: number, options: BuildOptions): Promise<ImportedTowers> {
  const skipped: BuildReport['skipped'] = [];
  const fp32Path = join(layout.dir, layout.vision.fp32!);
  const fp32 = await embedGuard(fp32Path, size);
  if ('unusable' in fp32) throw new ImportError('NOT_A_CLIP_MODEL', fp32.unusable, { input: fp32Path });
  const dim = fp32.dim;
  const files: Partial<Record<Precision, string>> = { fp32: 'image_encoder.onnx' };
  const accuracy: Accuracy = {};
  const perImage: Precision[] = fp32.batchDiff > 0 ? ['fp32'] : [];
  const minCosine = options.minCosine ?? DEFAULT_MIN_COSINE;
  for (const [precision, file] of Object.entries(layout.vision) as [Precision, string][]) {
    if (precision === 'fp32') continue;
    if (options.precisions && !options.precisions.includes(precision)) {
      skipped.push({ file, reason: `precision ${precision} not requested` });
      continue;
    }
    const variant = await embedGuard(join(layout.dir, file), size);
    if ('unusable' in variant) {
      skipped.push({ file, reason: variant.unusable });
      continue;
    }
    if (variant.dim !== dim) throw new ImportError('NOT_A_CLIP_MODEL', `image_embeds has ${variant.dim} values, vision_model.onnx ${dim}`, { input: join(layout.dir, file) });
    const c = cosines(fp32.data, variant.data, dim);
    const batched = variant.batchDiff > 0;
    const guard = {
      min_cosine: Math.min(...c), mean_cosine: c.reduce((a, b) => a + b, 0) / c.length, images: c.length, inputs: 'pseudo-random tensors',
      // As the scorer runs it: one image per call where batching moved the embeddings.
      max_batch_diff: 0,
      method: `as shipped in ${file}${batched ? `; run one image per call (batched, an embedding moved by up to ${variant.batchDiff.toExponential(2)})` : ''}`,
    };
    if (guard.min_cosine < minCosine) {
      skipped.push({ file, reason: `embeddings fall to cosine ${guard.min_cosine.toFixed(4)} of fp32's (< ${minCosine})` });
      continue;
    }
    files[precision] = `image_encoder.${precision}.onnx`;
    accuracy[precision as Exclude<Precision, 'fp32'>] = guard;
    if (batched) perImage.push(precision);
  }
  if (options.precisions?.some((p) => !files[p])) {
    const missing = options.precisions.filter((p) => !files[p]);
    throw new ImportError('BUNDLE_MISSING_FILE', `no usable ${missing.join(', ')} image tower here (found: ${Object.keys(layout.vision).join(', ')})`, { input: join(layout.dir, 'onnx') });
  }
  return { files, accuracy, perImage, dim, skipped };
}

/**
 * Builds a bundle in `out` from a CLIP in the transformers.js / Optimum layout at `sourceDir`: its image
 * towers (one per precision, each reduced one with its accuracy guard measured here), text tower,
 * tokenizer, preprocessing read from preprocessor_config.json, and the zero-shot heads computed from the
 * text tower. `label` records where the weights came from.
 */
export async function buildBundleFromLayout(sourceDir: string, out: string, label: string, options: BuildOptions = {}): Promise<BuildReport> {
  const layout = await readSourceLayout(sourceDir);
  const preprocess = preprocessFromConfig(layout.preprocessor, join(sourceDir, 'preprocessor_config.json'));
  const size = preprocess.size;
  const skipped: BuildReport['skipped'] = layout.ignored.map((file) => ({ file, reason: 'no matching bundle precision (or another file covers it)' }));
  await mkdir(out, { recursive: true });

  const towers = await importImageTowers(layout, size, options);
  skipped.push(...towers.skipped);
  const { files, accuracy, perImage, dim } = towers;

  if (!layout.text) {
    throw new ImportError('BUNDLE_MISSING_FILE', 'missing: the zero-shot heads are computed from the text tower (input_ids -> text_embeds)', { input: join(sourceDir, 'onnx/text_model.onnx') });
  }
  const text = await probeTextTower(layout, out);
  if (text.dim !== dim) {
    throw new ImportError('NOT_A_CLIP_MODEL', `text_embeds has ${text.dim} values, image_embeds ${dim}: not the two towers of one CLIP`, { input: join(sourceDir, layout.text) });
  }

  // Each bundle file placed from the source, by the source path it came from.
  const fromSource = new Map<string, string>();
  for (const [precision, file] of Object.entries(files) as [Precision, string][]) fromSource.set(file, layout.vision[precision]!);
  fromSource.set(text.entry.file, layout.text);
  for (const [file, source] of fromSource) await place(join(sourceDir, source), join(out, file), options.link ?? false);
  await mkdir(join(out, 'source'), { recursive: true });
  const sourceFiles = ['preprocessor_config.json', ...(layout.config ? ['config.json'] : [])].map((f) => `source/${f}`);
  for (const f of sourceFiles) await place(join(sourceDir, basename(f)), join(out, f), false);

  const heads = await writeZeroShotHeads(out, text.entry, dim, options.zeroShot);
  const listed = [...Object.values(files), text.entry.file, text.entry.tokenizer.vocab, text.entry.tokenizer.merges, ...sourceFiles, ...heads.map((h) => h.file)];
  const knownDigests = new Map([...fromSource].flatMap(([file, source]) => {
    const known = options.sourceDigests?.[source];
    return known ? [[file, known] as const] : [];
  }));
  const vision = (layout.config?.vision_config ?? {}) as { patch_size?: number; hidden_size?: number; num_hidden_layers?: number };
  const name = options.name ?? (String(layout.config?._name_or_path ?? '') || basename(sourceDir));
  const manifest: Omit<ModelBundleManifest, 'files'> = {
    format: 'clip-agiqa-bundle',
    format_version: 1,
    name,
    description: `CLIP imported from ${label}, with zero-shot heads (clip-iqa, levels) computed from its text tower; no head trained on ratings yet.`,
    license: options.license ?? 'see the source model card',
    backbone: {
      name, architecture: 'clip-vit', source: label, embed_dim: dim, image_size: size,
      ...(vision.patch_size ? { patch_size: vision.patch_size } : {}),
      ...(vision.hidden_size ? { width: vision.hidden_size } : {}),
      ...(vision.num_hidden_layers ? { layers: vision.num_hidden_layers } : {}),
    },
    preprocess,
    image_encoder: {
      input: 'pixel_values', output: 'image_embeds', files: files as ModelBundleManifest['image_encoder']['files'],
      ...(perImage.length ? { per_image: perImage } : {}), ...(Object.keys(accuracy).length ? { accuracy } : {}),
    },
    text_encoder: text.entry,
    heads: heads as ModelBundleManifest['heads'],
  };
  return { bundle: await writeBundle(out, manifest, listed, { knownDigests, ...(options.cacheDir ? { cacheDir: options.cacheDir } : {}) }), skipped };
}
