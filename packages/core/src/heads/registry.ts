import { BundleError } from '../errors.js';
import type { Tensor } from '../bundle/safetensors.js';
import { createClipAgiqaAlignHead } from './clip-agiqa-align.js';
import { createClipAgiqaAnchoredHead } from './clip-agiqa-anchored.js';
import { createClipAgiqaMlpHead } from './clip-agiqa-mlp.js';
import { createClipZeroShotHead } from './clip-zero-shot.js';
import type { PromptHead } from './clipscore.js';
import type { Head, HeadEntry, HeadFactory } from './head.js';

const factories = new Map<string, HeadFactory>([
  ['clip-agiqa-mlp', createClipAgiqaMlpHead],
  ['clip-agiqa-anchored', createClipAgiqaAnchoredHead],
  ['clip-zero-shot', createClipZeroShotHead],
]);

/** Kinds of the heads that read an image and its prompt (manifest `input: image+prompt`). */
const promptFactories = new Map([['clip-agiqa-align', createClipAgiqaAlignHead]]);

/** Makes a head kind loadable from bundles. Kinds are the manifest's `heads[].kind`. */
export function registerHeadKind(kind: string, factory: HeadFactory): void {
  factories.set(kind, factory);
}

export function headKinds(): string[] {
  return [...factories.keys(), ...promptFactories.keys()];
}

/** Whether a manifest head reads the prompt's text embedding beside the image's. */
export const readsPrompt = (entry: HeadEntry): boolean => entry.input === 'image+prompt';

export function createHead(entry: HeadEntry, tensors: Map<string, Tensor>, embedDim: number, source: string): Head {
  const factory = factories.get(entry.kind);
  if (!factory) {
    const hint = promptFactories.has(entry.kind) ? ` (a ${entry.kind} head reads the image and its prompt: its manifest entry says input: image+prompt)` : '';
    throw new BundleError('SCHEMA_VIOLATION', `head ${entry.name} has unknown kind ${entry.kind}${hint}`, { input: source });
  }
  return factory(entry, tensors, embedDim, source);
}

export function createPromptHead(entry: HeadEntry, tensors: Map<string, Tensor>, embedDim: number, source: string): PromptHead {
  const factory = promptFactories.get(entry.kind);
  if (!factory) {
    throw new BundleError('SCHEMA_VIOLATION', `head ${entry.name} reads image+prompt, and no kind ${entry.kind} of head that reads prompts is known (known: ${[...promptFactories.keys()].join(', ')})`, { input: source });
  }
  return factory(entry, tensors, embedDim, source);
}
