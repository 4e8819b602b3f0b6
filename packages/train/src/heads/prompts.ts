import { join } from 'node:path';
import { readFile } from 'node:fs/promises';

import { BundleError, type Bundle } from '@clip-agiqa/core';
import { DEFAULT_PROMPT, encodeTexts, levelPrompts, parseSafetensors } from '@clip-agiqa/core/internal';

export { DEFAULT_PROMPT, LEVEL_WORDS } from '@clip-agiqa/core/internal';

/** Level-prompt templates of the anchored head's categories. */
export const CATEGORY_PROMPTS: Readonly<Record<string, string>> = {
  overall: DEFAULT_PROMPT,
  technical: 'a photo of {level} technical quality.',
  aesthetic: 'a photo of {level} aesthetic quality.',
  realism: 'a photo of {level} realism.',
};
export const DEFAULT_CATEGORIES = Object.keys(CATEGORY_PROMPTS);

/** The template of a category: a known one, else `a photo of {level} <name> quality.` */
export function categoryPrompt(category: string): string {
  return CATEGORY_PROMPTS[category] ?? `a photo of {level} ${category.replace(/[-_]/g, ' ')} quality.`;
}

async function storedLevelFeatures(bundle: Bundle): Promise<Float32Array> {
  const head = bundle.manifest.heads.find((h) => h.kind === 'clip-agiqa-mlp');
  if (!head?.tensors.text_features) {
    throw new BundleError('BUNDLE_MISSING_FILE', `bundle ${bundle.manifest.name} has neither a text tower nor a clip-agiqa-mlp head to take level features from`);
  }
  const path = join(bundle.dir, head.file);
  return parseSafetensors(await readFile(path), path).get(head.tensors.text_features)!.data.slice();
}

/**
 * The initial level-prompt embeddings [T, 6, D] for T templates: the bundle's text tower over the six
 * prompts of each, tokenized here. Bundles without a text tower fall back to the level features stored
 * in their clip-agiqa-mlp head, for every template.
 */
export async function levelPromptEmbeddings(bundle: Bundle, templates: string | readonly string[] = DEFAULT_PROMPT): Promise<Float32Array> {
  const list = typeof templates === 'string' ? [templates] : [...templates];
  const te = bundle.manifest.text_encoder;
  if (!te) {
    const stored = await storedLevelFeatures(bundle);
    const out = new Float32Array(list.length * stored.length);
    list.forEach((_, k) => out.set(stored, k * stored.length));
    return out;
  }
  const prompts = list.flatMap((t) => levelPrompts(t));
  return encodeTexts(bundle.dir, te, prompts);
}
