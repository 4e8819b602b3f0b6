import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';

import { ImportError, UsageError } from '../../errors.js';
import { loadBundle, PRECISIONS, type Bundle, type Precision } from '../load.js';
import { buildBundleFromLayout, type BuildOptions } from './build-bundle.js';
import { defaultCacheDir } from '../cache-dir.js';
import { JOINT_ONLY_MESSAGE, visionFiles } from './source-layout.js';
import { hubSnapshot, parseHubRef, repoCacheDir, type HubFile, type HubOptions } from './hub.js';

export interface ImportOptions extends Omit<BuildOptions, 'link' | 'sourceDigests'>, HubOptions {
  /** Bundle folder to write. Required for local folders; hub models default to the cache. */
  out?: string;
  /** Cache of hub downloads and of bundles imported from the hub (default $CLIP_AGIQA_CACHE or ~/.cache/clip-agiqa). */
  cacheDir?: string;
}

export interface ImportResult {
  bundle: Bundle;
  /** hf:OWNER/NAME@COMMIT or the source folder. */
  source: string;
  /** False when a bundle imported earlier from the same commit was reused. */
  imported: boolean;
  skipped: { file: string; reason: string }[];
}

const HUB_FILES = ['config.json', 'preprocessor_config.json', 'tokenizer.json', 'tokenizer_config.json', 'vocab.json', 'merges.txt'];

/**
 * The files an import needs from a hub repository: configs, tokenizer, text tower, and the image tower in
 * each wanted precision; other ONNX files (the joint model.onnx, variants not wanted) are not downloaded.
 */
export function selectHubFiles(files: HubFile[], label: string, precisions?: readonly Precision[]): HubFile[] {
  const wanted = new Set([...HUB_FILES, 'onnx/text_model.onnx']);
  const has = (p: string) => files.some((f) => f.path === p);
  for (const precision of PRECISIONS) {
    if (precision !== 'fp32' && precisions && !precisions.includes(precision)) continue;
    // One file per precision: the one the import uses (it would leave the others out).
    const first = visionFiles(precision).find(has);
    if (first) wanted.add(first);
  }
  if (!has('onnx/vision_model.onnx') && has('onnx/model.onnx')) {
    throw new ImportError('JOINT_ONLY_MODEL', JOINT_ONLY_MESSAGE, { input: `${label}/onnx/model.onnx` });
  }
  return files.filter((f) => wanted.has(f.path));
}

async function isEmptyOrMissing(dir: string): Promise<boolean> {
  const entries = await readdir(dir).catch(() => null);
  return entries === null || entries.length === 0;
}

/** Builds into a sibling temp folder and renames it into place: `out` is either complete or absent. */
async function buildAtomically(sourceDir: string, out: string, label: string, options: BuildOptions) {
  const partial = `${out}.partial-${process.pid}`;
  await rm(partial, { recursive: true, force: true });
  await mkdir(partial, { recursive: true });
  try {
    const report = await buildBundleFromLayout(sourceDir, partial, label, options);
    await rm(out, { recursive: true, force: true });
    await rename(partial, out);
    return { bundle: await loadBundle(out, options.cacheDir ? { cacheDir: options.cacheDir } : {}), skipped: report.skipped };
  } finally {
    await rm(partial, { recursive: true, force: true });
  }
}

/**
 * Imports a CLIP into a bundle: from a local folder in the transformers.js / Optimum ONNX layout, or from
 * `hf:OWNER/NAME[@REVISION]` on the Hugging Face hub (downloaded into the cache, pinned to the commit).
 * The bundle gets the zero-shot heads clip-iqa and levels; every downstream command reads it as any bundle.
 */
export async function importModel(source: string, options: ImportOptions = {}): Promise<ImportResult> {
  const build: BuildOptions = { ...options };
  if (source.startsWith('hf:')) {
    const ref = parseHubRef(source);
    const cacheDir = options.cacheDir ?? defaultCacheDir();
    const snapshot = await hubSnapshot(ref, cacheDir, (files) => selectHubFiles(files, source, options.precisions), options);
    const label = `hf:${ref.repo}@${snapshot.commit}`;
    // Imports of a subset of the precisions are kept apart from the full one.
    const variant = options.precisions ? `-${['fp32', ...[...options.precisions].filter((p) => p !== 'fp32').sort()].join('+')}` : '';
    const out = options.out ? resolve(options.out) : join(repoCacheDir(cacheDir, ref.repo), 'bundles', `${snapshot.commit}${variant}`);
    if (!options.out && (await stat(join(out, 'manifest.json')).catch(() => null))) {
      return { bundle: await loadBundle(out, { cacheDir }), source: label, imported: false, skipped: [] };
    }
    if (options.out && !(await isEmptyOrMissing(out))) throw new UsageError('INVALID_ARGUMENT', `${out} exists and is not empty`);
    return { ...(await buildAtomically(snapshot.dir, out, label, { name: ref.repo, ...build, link: true, cacheDir, sourceDigests: snapshot.files })), source: label, imported: true };
  }
  if (!options.out) throw new UsageError('INVALID_ARGUMENT', 'importing a folder needs an output folder (out)');
  const out = resolve(options.out);
  if (!(await isEmptyOrMissing(out))) throw new UsageError('INVALID_ARGUMENT', `${out} exists and is not empty`);
  const dir = resolve(source);
  return { ...(await buildAtomically(dir, out, dir, build)), source: dir, imported: true };
}
