import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

import { headProvenance, UsageError, type Bundle, type ModelBundleManifest } from '@clip-agiqa/core';
import { towerFiles, writeBundle, writeSafetensors } from '@clip-agiqa/core/internal';

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

/**
 * Writes a bundle with the source bundle's towers and the given trained heads, with checksums, and loads
 * it back to check it (core's one bundle writer). What `clip-agiqa score --model OUT` then scores is exactly these heads, the first
 * of them being the default; the source's zero-shot heads (of an imported CLIP) follow them unchanged.
 */
export async function writeTrainedBundle(source: Bundle, out: string, heads: TrainedHead[], name: string): Promise<Bundle> {
  const m = source.manifest;
  for (const file of towerFiles(m)) {
    await mkdir(dirname(join(out, file)), { recursive: true });
    await copyFile(join(source.dir, file), join(out, file));
  }
  if (heads.length === 0) throw new UsageError('INVALID_ARGUMENT', 'a bundle needs at least one head');
  await mkdir(join(out, 'heads'), { recursive: true });
  const entries: ModelBundleManifest['heads'][number][] = [];
  for (const h of heads) {
    const file = `heads/${h.name}.safetensors`;
    await writeFile(join(out, file), writeSafetensors(h.model.tensors(h.params), { kind: h.model.kind }));
    entries.push({ ...headEntry(h.model, h.name, h.scoreRange, file), levels: [...LEVEL_WORDS], prompt_template: h.promptTemplate, training: h.training });
  }
  for (const z of m.heads.filter((h) => headProvenance(h) === 'zero-shot' && !heads.some((t) => t.name === h.name))) {
    await copyFile(join(source.dir, z.file), join(out, z.file));
    entries.push(z);
  }
  // The copied files were checked when the source bundle loaded: their digests carry over.
  const knownDigests = new Map([...towerFiles(m), ...entries.filter((e) => headProvenance(e) === 'zero-shot').map((e) => e.file)]
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
