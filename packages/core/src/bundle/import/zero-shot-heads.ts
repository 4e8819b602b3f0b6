import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { UsageError } from '../../errors.js';
import type { HeadEntry } from '../../heads/head.js';
import { DEFAULT_PROMPT, LEVEL_WORDS, levelPrompts } from '../../heads/levels.js';
import { encodeTexts, type TextEncoderEntry } from '../../text/text-tower.js';
import { requireFinite } from '../../util/finite.js';
import { writeSafetensors } from '../safetensors-writer.js';

/** CLIP-IQA's antonym pair (Wang, Chan, Loy, AAAI 2023): the probability of the first is the score. */
export const CLIP_IQA_PAIRS: readonly (readonly [string, string])[] = [['Good photo.', 'Bad photo.']];
/** The logit scale CLIP ends its training at (exp of its learnt log scale, clamped at 100). */
export const CLIP_LOGIT_SCALE = 100;

export interface ZeroShotOptions {
  /** Antonym pairs [positive, negative] of the clip-iqa head; its score is their mean probability of positive. */
  clipIqaPairs?: readonly (readonly [string, string])[];
  /** Template of the six level prompts of the levels head (default the trainer's, "a photo of {level} quality."). */
  levelTemplate?: string;
}

const TENSORS = { prompt_features: 'prompt_features', prompt_values: 'prompt_values', logit_scale: 'logit_scale' };

/**
 * Computes the zero-shot heads from a bundle's text tower and writes them under `dir/heads/`:
 * `clip-iqa` (antonym pairs, P(positive), in [0, 1]) and `levels` (expected level over the six level
 * prompts, terrible = 0 ... perfect = 1). Returns their manifest entries.
 */
export async function writeZeroShotHeads(dir: string, te: TextEncoderEntry, embedDim: number, options: ZeroShotOptions = {}): Promise<HeadEntry[]> {
  const pairs = (options.clipIqaPairs ?? CLIP_IQA_PAIRS).map((p) => [...p]);
  if (pairs.length === 0) throw new UsageError('INVALID_ARGUMENT', 'clip-iqa needs at least one prompt pair');
  const template = options.levelTemplate ?? DEFAULT_PROMPT;
  const levels = levelPrompts(template);
  const embeds = await encodeTexts(dir, te, [...pairs.flat(), ...levels]);
  requireFinite(embeds, 'the text tower\'s text_embeds of the zero-shot prompts', join(dir, te.file));
  const logScale = Float32Array.of(Math.log(CLIP_LOGIT_SCALE));
  const heads = [
    { name: 'clip-iqa', groups: pairs, values: [1, 0], offset: 0 },
    { name: 'levels', groups: [levels], values: LEVEL_WORDS.map((_, i) => i / (LEVEL_WORDS.length - 1)), offset: pairs.length * 2 * embedDim },
  ];
  await mkdir(join(dir, 'heads'), { recursive: true });
  const entries: HeadEntry[] = [];
  for (const h of heads) {
    const count = h.groups.length * h.values.length;
    const features = embeds.slice(h.offset, h.offset + count * embedDim);
    const file = `heads/${h.name}.safetensors`;
    await writeFile(join(dir, file), writeSafetensors(new Map([
      ['prompt_features', { shape: [h.groups.length, h.values.length, embedDim], data: features }],
      ['prompt_values', { shape: [h.values.length], data: Float32Array.from(h.values) }],
      ['logit_scale', { shape: [1], data: logScale }],
    ]), { kind: 'clip-zero-shot' }));
    entries.push({
      name: h.name, kind: 'clip-zero-shot', file, tensors: TENSORS, prompts: h.groups as NonNullable<HeadEntry['prompts']>, score_range: [0, 1],
      higher_is_better: true, trained: false, provenance: 'zero-shot',
      ...(h.name === 'levels' ? { levels: [...LEVEL_WORDS], prompt_template: template } : {}),
    });
  }
  return entries;
}
