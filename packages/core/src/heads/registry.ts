import { BundleError } from '../errors.js';
import type { Tensor } from '../bundle/safetensors.js';
import { createClipAgiqaAnchoredHead } from './clip-agiqa-anchored.js';
import { createClipAgiqaMlpHead } from './clip-agiqa-mlp.js';
import { createClipZeroShotHead } from './clip-zero-shot.js';
import type { Head, HeadEntry, HeadFactory } from './head.js';

const factories = new Map<string, HeadFactory>([
  ['clip-agiqa-mlp', createClipAgiqaMlpHead],
  ['clip-agiqa-anchored', createClipAgiqaAnchoredHead],
  ['clip-zero-shot', createClipZeroShotHead],
]);

/** Makes a head kind loadable from bundles. Kinds are the manifest's `heads[].kind`. */
export function registerHeadKind(kind: string, factory: HeadFactory): void {
  factories.set(kind, factory);
}

export function headKinds(): string[] {
  return [...factories.keys()];
}

export function createHead(entry: HeadEntry, tensors: Map<string, Tensor>, embedDim: number, source: string): Head {
  const factory = factories.get(entry.kind);
  if (!factory) throw new BundleError('SCHEMA_VIOLATION', `head ${entry.name} has unknown kind ${entry.kind}`, { input: source });
  return factory(entry, tensors, embedDim, source);
}
