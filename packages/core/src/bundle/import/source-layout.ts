import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';

import { BundleError, ImportError } from '../../errors.js';
import type { Precision } from '../precision.js';

/**
 * transformers.js names its reduced-precision files `<model>_<suffix>.onnx`; these map onto bundle precisions,
 * preferred first (the `_quantized` file is what transformers.js loads for 8-bit).
 */
const VARIANT_PRECISION: Record<string, Precision> = { fp16: 'fp16', quantized: 'int8', int8: 'int8', uint8: 'int8' };

/** The image tower files that can hold `precision`, relative to the model folder, preferred first. */
export function visionFiles(precision: Precision): string[] {
  const suffixes = precision === 'fp32' ? [''] : Object.keys(VARIANT_PRECISION).filter((s) => VARIANT_PRECISION[s] === precision).map((s) => `_${s}`);
  return suffixes.map((s) => `onnx/vision_model${s}.onnx`);
}

export const JOINT_ONLY_MESSAGE = 'only the joint model.onnx (both towers in one graph) is here, without onnx/vision_model.onnx: '
  + 'the importer does not split graphs; export the towers separately (Optimum exports vision_model.onnx and text_model.onnx)';

/** The files of a CLIP in the transformers.js / Optimum ONNX layout, as paths relative to its folder. */
export interface SourceLayout {
  dir: string;
  config: Record<string, unknown> | null;
  preprocessor: Record<string, unknown>;
  /** Image tower per precision, e.g. { fp32: 'onnx/vision_model.onnx', int8: 'onnx/vision_model_quantized.onnx' }. */
  vision: Partial<Record<Precision, string>>;
  /** Variants found that have no bundle precision (e.g. q4, bnb4), or that a preferred file already covers. */
  ignored: string[];
  text: string | null;
  tokenizer: { vocab: string; merges: string } | { json: string } | null;
}

const exists = async (path: string) => (await stat(path).catch(() => null))?.isFile() === true;

async function readJson(dir: string, file: string): Promise<Record<string, unknown> | null> {
  let raw: string;
  try {
    raw = await readFile(join(dir, file), 'utf8');
  } catch {
    return null;
  }
  try {
    return JSON.parse(raw) as Record<string, unknown>;
  } catch (e) {
    throw new ImportError('NOT_A_CLIP_MODEL', `${file} is not JSON: ${(e as Error).message}`, { input: join(dir, file) });
  }
}

/** True when `dir` holds what a transformers.js / Optimum model folder does (config.json, or ONNX files under onnx/): something to import, not a bundle. */
export async function looksLikeSourceLayout(dir: string): Promise<boolean> {
  if (await exists(join(dir, 'config.json'))) return true;
  return (await readdir(join(dir, 'onnx')).catch(() => [] as string[])).some((f) => f.endsWith('.onnx'));
}

/** Reads which files a transformers.js-layout folder holds; refuses what cannot be a CLIP dual encoder. */
export async function readSourceLayout(dir: string): Promise<SourceLayout> {
  if (!(await stat(dir).catch(() => null))?.isDirectory()) throw new BundleError('BUNDLE_NOT_FOUND', 'no such folder', { input: dir });
  const config = await readJson(dir, 'config.json');
  const modelType = config?.model_type;
  if (config && modelType !== 'clip') {
    throw new ImportError('NOT_A_CLIP_MODEL', `model_type is ${JSON.stringify(modelType)}, not "clip": not a CLIP dual encoder`, { input: join(dir, 'config.json') });
  }
  const onnxFiles = await readdir(join(dir, 'onnx')).catch(() => [] as string[]);
  if (!config && onnxFiles.length === 0) {
    throw new ImportError('NOT_A_CLIP_MODEL', 'neither config.json nor onnx/: not a model in the transformers.js layout', { input: dir });
  }
  const vision: SourceLayout['vision'] = {};
  const ignored: string[] = [];
  const order = ['', ...Object.keys(VARIANT_PRECISION)];
  for (const suffix of order) {
    const file = `vision_model${suffix ? `_${suffix}` : ''}.onnx`;
    if (!onnxFiles.includes(file)) continue;
    const precision = suffix ? VARIANT_PRECISION[suffix]! : 'fp32';
    if (vision[precision]) ignored.push(`onnx/${file}`);
    else vision[precision] = `onnx/${file}`;
  }
  ignored.push(...onnxFiles.filter((f) => /^vision_model_.*\.onnx$/.test(f) && !order.some((s) => f === `vision_model_${s}.onnx`)).map((f) => `onnx/${f}`));
  if (!vision.fp32) {
    if (onnxFiles.includes('model.onnx')) {
      throw new ImportError('JOINT_ONLY_MODEL',
        JOINT_ONLY_MESSAGE,
        { input: join(dir, 'onnx/model.onnx') });
    }
    throw new ImportError('MISSING_VISION_MODEL', 'missing: the image tower (input pixel_values, output image_embeds) is required', { input: join(dir, 'onnx/vision_model.onnx') });
  }
  const preprocessor = await readJson(dir, 'preprocessor_config.json');
  if (!preprocessor) throw new ImportError('BUNDLE_MISSING_FILE', 'missing: the image preprocessing is read from it, never assumed', { input: join(dir, 'preprocessor_config.json') });
  const text = onnxFiles.includes('text_model.onnx') ? 'onnx/text_model.onnx' : null;
  const tokenizer = await exists(join(dir, 'vocab.json')) && await exists(join(dir, 'merges.txt')) ? { vocab: 'vocab.json', merges: 'merges.txt' }
    : await exists(join(dir, 'tokenizer.json')) ? { json: 'tokenizer.json' } : null;
  return { dir, config, preprocessor, vision, ignored, text, tokenizer };
}
