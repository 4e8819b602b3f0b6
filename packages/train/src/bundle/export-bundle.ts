import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

import { headProvenance, UsageError, type Bundle, type ModelBundleManifest } from '@clip-agiqa/core';
import { readsPrompt, towerFiles, writeBundle, writeSafetensors } from '@clip-agiqa/core/internal';

import { headEntry, type HeadModel, type Params } from '../heads/head-model.js';
import { LEVEL_WORDS } from '../heads/prompts.js';


export interface TrainedHead {
  name: string;
  model: HeadModel;
  params: Params;
  scoreRange: [number, number];
  training: { dataset: string; target: string; protocol: string; metrics: Record<string, number> };
  promptTemplate: string;
}

type ManifestHead = ModelBundleManifest['heads'][number];

/**
 * The source bundle's heads a bundle with `trained` keeps: its zero-shot heads (of an imported CLIP), and
 * its trained heads of the other role (quality heads when alignment heads are trained, and the other way
 * round), so training alignment on a bundle with a quality head ends with both. A trained head replaces the
 * source's heads of its own role, and any head of its name.
 */
function keptSourceHeads(source: readonly ManifestHead[], trained: readonly ManifestHead[]): ManifestHead[] {
  const roles = new Set(trained.map(readsPrompt));
  return source.filter((h) => !trained.some((t) => t.name === h.name) && (headProvenance(h) === 'zero-shot' || !roles.has(readsPrompt(h))));
}

/**
 * Writes a bundle with the source bundle's towers, the given trained heads and the source heads
 * `keptSourceHeads` keeps, with checksums, and loads it back to check it (core's one bundle writer).
 * Heads that score an image alone come first (the first trained one is the default), then those that read
 * prompts.
 */
export async function writeTrainedBundle(source: Bundle, out: string, heads: TrainedHead[], name: string): Promise<Bundle> {
  const m = source.manifest;
  for (const file of towerFiles(m)) {
    await mkdir(dirname(join(out, file)), { recursive: true });
    await copyFile(join(source.dir, file), join(out, file));
  }
  if (heads.length === 0) throw new UsageError('INVALID_ARGUMENT', 'a bundle needs at least one head');
  await mkdir(join(out, 'heads'), { recursive: true });
  const trained: ManifestHead[] = [];
  for (const h of heads) {
    const file = `heads/${h.name}.safetensors`;
    await writeFile(join(out, file), writeSafetensors(h.model.tensors(h.params), { kind: h.model.kind }));
    const levels: Partial<ManifestHead> = h.model.input === 'image+prompt' ? {} : { levels: [...LEVEL_WORDS] as ManifestHead['levels'], prompt_template: h.promptTemplate };
    trained.push({ ...headEntry(h.model, h.name, h.scoreRange, file), ...levels, training: h.training });
  }
  const kept = keptSourceHeads(m.heads, trained);
  for (const k of kept) {
    await mkdir(dirname(join(out, k.file)), { recursive: true });
    await copyFile(join(source.dir, k.file), join(out, k.file));
  }
  const all = [...trained, ...kept];
  const entries = [...all.filter((e) => !readsPrompt(e)), ...all.filter(readsPrompt)];
  // The copied files were checked when the source bundle loaded: their digests carry over.
  const knownDigests = new Map([...towerFiles(m), ...kept.map((e) => e.file)]
    .flatMap((file) => (m.files[file] ? [[file, m.files[file]] as const] : [])));
  const backboneTrained = m.backbone.trained !== false;
  const { files: _sourceFiles, ...rest } = m;
  const manifest: Omit<ModelBundleManifest, 'files'> = {
    ...rest,
    name,
    description: backboneTrained ? 'CLIP-AGIQA bundle with trained heads'
      : 'CLIP-AGIQA bundle with heads trained on a randomly initialised tower: not the paper\'s setting; its scores mean little.',
    heads: entries as ModelBundleManifest['heads'],
  };
  return writeBundle(out, manifest, [...towerFiles(m), ...entries.map((e) => e.file)], { knownDigests });
}
