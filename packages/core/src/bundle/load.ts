import { readFile, stat } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve } from 'node:path';

import { BundleError } from '../errors.js';
import { modelBundleSchema, type ModelBundleManifest } from '../generated/model-bundle.js';
import type { PromptHead } from '../heads/clipscore.js';
import { headProvenance, type Head } from '../heads/head.js';
import { createHead, createPromptHead, readsPrompt } from '../heads/registry.js';
import { compileSchema } from '../validation.js';
import { sha256, sha256File } from './checksum.js';
import { looksLikeSourceLayout } from './import/source-layout.js';
import type { Precision } from './precision.js';
import { parseSafetensors } from './safetensors.js';
import { recordVerified, verifiedBefore } from './verified-marks.js';

/** Bundle contract versions this release reads. */
export const SUPPORTED_FORMAT_VERSIONS = [1] as const;

export { PRECISIONS, type Precision } from './precision.js';

export interface Bundle {
  readonly dir: string;
  readonly manifest: ModelBundleManifest;
  /** sha256 of manifest.json: identifies the bundle (it pins every file's checksum). */
  readonly manifestSha256: string;
  /** The heads that score an image alone (quality heads), in manifest order; the first is the default. */
  readonly heads: readonly Head[];
  /** The trained heads that score an image against its prompt (text-image alignment); they need the text tower. */
  readonly promptHeads: readonly PromptHead[];
  /** True when the tower or a head has random weights (zero-shot heads are not random). */
  readonly untrained: boolean;
  precisions(): Precision[];
  imageEncoderPath(precision?: Precision): string;
  /** Whether the image encoder at `precision` must run one image at a time to be batch-invariant. */
  runsPerImage(precision?: Precision): boolean;
}

export interface LoadBundleOptions {
  /**
   * Check every file against the manifest's sha256 (default true). Files hashed once are recorded in the
   * cache and checked by their size, inode and change time afterwards; a changed file is hashed again.
   */
  verifyChecksums?: boolean;
  /** Where the records of verified files live (default: the model cache, $CLIP_AGIQA_CACHE). */
  cacheDir?: string;
}

const validateManifest = compileSchema<ModelBundleManifest>(modelBundleSchema);

export function resolveInside(dir: string, file: string): string {
  const path = resolve(dir, file);
  const rel = relative(dir, path);
  if (rel.startsWith('..') || isAbsolute(rel)) {
    throw new BundleError('SCHEMA_VIOLATION', `file ${file} lies outside the bundle`, { input: dir });
  }
  return path;
}

/** The files of a bundle's towers: the image encoder at every precision, and the text encoder with its tokenizer. */
export function towerFiles(m: ModelBundleManifest): string[] {
  const files = [...Object.values(m.image_encoder.files)];
  if (m.text_encoder) files.push(m.text_encoder.file, m.text_encoder.tokenizer.vocab, m.text_encoder.tokenizer.merges);
  return files.filter((f): f is string => typeof f === 'string');
}

const referencedFiles = (m: ModelBundleManifest) => [...towerFiles(m), ...m.heads.map((h) => h.file)];

/** Parses and validates manifest.json bytes; `source` names the bundle in errors. */
export function parseManifest(raw: Uint8Array, source: string): { manifest: ModelBundleManifest; sha256: string } {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(raw));
  } catch (e) {
    throw new BundleError('SCHEMA_VIOLATION', `manifest.json is not JSON: ${(e as Error).message}`, { input: source });
  }
  const version = (json as { format_version?: unknown } | null)?.format_version;
  if (typeof version === 'number' && !(SUPPORTED_FORMAT_VERSIONS as readonly number[]).includes(version)) {
    throw new BundleError('UNSUPPORTED_BUNDLE_VERSION',
      `bundle format_version ${version} is not supported (this release reads ${SUPPORTED_FORMAT_VERSIONS.join(', ')})`, { input: source });
  }
  const result = validateManifest(json);
  if (!result.ok) {
    throw new BundleError('SCHEMA_VIOLATION', `manifest.json does not match the bundle schema: ${result.errors.join('; ')}`, { input: source });
  }
  return { manifest: result.value, sha256: sha256(raw) };
}

export interface FileEntry {
  file: string;
  sha256: string;
  bytes: number;
}

/** Every file the manifest lists, with its checksum and size. */
export function listedFiles(m: ModelBundleManifest): FileEntry[] {
  return Object.entries(m.files).flatMap(([file, e]) => (e ? [{ file, sha256: e.sha256, bytes: e.bytes }] : []));
}

export async function readManifest(dir: string): Promise<{ manifest: ModelBundleManifest; sha256: string }> {
  let raw: Buffer;
  try {
    raw = await readFile(join(dir, 'manifest.json'));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'BUNDLE_NOT_FOUND' : 'BUNDLE_MISSING_FILE';
    if (code === 'BUNDLE_NOT_FOUND' && (await looksLikeSourceLayout(dir))) {
      throw new BundleError(code, `no manifest.json: this looks like a Hugging Face / transformers.js model folder, not a bundle; import it first: clip-agiqa import ${dir} --out BUNDLE (importModel() in the API), then use BUNDLE`, { input: dir, cause: e });
    }
    throw new BundleError(code, `cannot read manifest.json (${(e as Error).message})`, { input: dir, cause: e });
  }
  return parseManifest(raw, dir);
}

async function verifyFiles(dir: string, m: ModelBundleManifest, manifestSha256: string, hash: boolean, cacheDir: string | undefined): Promise<void> {
  for (const file of referencedFiles(m)) {
    if (!m.files[file]) throw new BundleError('SCHEMA_VIOLATION', `${file} is used but has no checksum in files`, { input: dir });
  }
  const files = listedFiles(m);
  for (const expected of files) {
    const file = expected.file;
    const path = resolveInside(dir, file);
    let size: number;
    try {
      size = (await stat(path)).size;
    } catch (e) {
      throw new BundleError('BUNDLE_MISSING_FILE', `missing file ${file}`, { input: dir, cause: e });
    }
    if (size !== expected.bytes) {
      throw new BundleError('CHECKSUM_MISMATCH', `${file} has ${size} bytes, the manifest says ${expected.bytes}`, { input: dir });
    }
  }
  if (!hash || (await verifiedBefore(dir, manifestSha256, files.map((f) => f.file), cacheDir))) return;
  for (const expected of files) {
    const actual = await sha256File(resolveInside(dir, expected.file));
    if (actual !== expected.sha256) {
      throw new BundleError('CHECKSUM_MISMATCH', `${expected.file} has sha256 ${actual}, the manifest says ${expected.sha256}`, { input: dir });
    }
  }
  await recordVerified(dir, manifestSha256, files.map((f) => f.file), cacheDir);
}

/** Reads, validates and checks a bundle folder, and loads its heads. */
export async function loadBundle(dirPath: string, options: LoadBundleOptions = {}): Promise<Bundle> {
  const dir = resolve(dirPath);
  const { manifest, sha256: manifestSha256 } = await readManifest(dir);
  await verifyFiles(dir, manifest, manifestSha256, options.verifyChecksums ?? true, options.cacheDir);
  const names = new Set<string>();
  const heads: Head[] = [];
  const promptHeads: PromptHead[] = [];
  for (const entry of manifest.heads) {
    if (names.has(entry.name)) throw new BundleError('SCHEMA_VIOLATION', `two heads are named ${entry.name}`, { input: dir });
    names.add(entry.name);
    if (readsPrompt(entry) && !manifest.text_encoder) {
      throw new BundleError('SCHEMA_VIOLATION',
        `head ${entry.name} (${entry.kind}) scores an image against its prompt, and the bundle has no text tower to read prompts with: add text_encoder to the manifest or remove the head`, { input: dir });
    }
    const path = resolveInside(dir, entry.file);
    const tensors = parseSafetensors(await readFile(path), path);
    if (readsPrompt(entry)) promptHeads.push(createPromptHead(entry, tensors, manifest.backbone.embed_dim, path));
    else heads.push(createHead(entry, tensors, manifest.backbone.embed_dim, path));
  }
  if (heads.length === 0) {
    throw new BundleError('SCHEMA_VIOLATION', `the bundle has no head that scores an image alone (only ${manifest.heads.map((h) => h.name).join(', ')}, which need a prompt)`, { input: dir });
  }
  const untrained = manifest.backbone.trained === false || manifest.heads.some((h) => headProvenance(h) === 'untrained');
  return {
    dir,
    manifest,
    manifestSha256,
    heads,
    promptHeads,
    untrained,
    precisions: () => Object.keys(manifest.image_encoder.files) as Precision[],
    imageEncoderPath(precision = 'fp32') {
      const file = manifest.image_encoder.files[precision];
      if (!file) {
        throw new BundleError('BUNDLE_MISSING_FILE',
          `no ${precision} image encoder (available: ${Object.keys(manifest.image_encoder.files).join(', ')})`, { input: dir });
      }
      return resolveInside(dir, file);
    },
    runsPerImage: (precision = 'fp32') => manifest.image_encoder.per_image?.includes(precision) ?? false,
  };
}
