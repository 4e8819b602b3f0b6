import { join } from 'node:path';

import { ClipTokenizer, openSession, parseSafetensors, type Bundle } from '@clip-agiqa/core';
import { readFile } from 'node:fs/promises';
import * as ort from 'onnxruntime-node';

import { LEVELS } from './mlp-head.js';

export const LEVEL_WORDS = ['terrible', 'bad', 'poor', 'average', 'good', 'perfect'] as const;
export const DEFAULT_PROMPT = 'a photo of {level} quality.';

/**
 * The initial level-prompt embeddings [6, D]: the bundle's text tower over the six prompts, tokenized
 * here. Bundles without a text tower fall back to the text features stored in their first head.
 */
export async function levelPromptEmbeddings(bundle: Bundle, template = DEFAULT_PROMPT): Promise<Float32Array> {
  const te = bundle.manifest.text_encoder;
  if (!te) {
    const head = bundle.manifest.heads[0]!;
    const path = join(bundle.dir, head.file);
    return parseSafetensors(await readFile(path), path).get(head.tensors.text_features)!.data.slice();
  }
  const tokenizer = await ClipTokenizer.fromFiles(join(bundle.dir, te.tokenizer.vocab), join(bundle.dir, te.tokenizer.merges));
  const ids = tokenizer.tokenize(LEVEL_WORDS.map((w) => template.replace('{level}', w)), te.context_length);
  const { session } = await openSession(join(bundle.dir, te.file));
  try {
    const out = await session.run({ [te.input]: new ort.Tensor('int64', ids, [LEVELS, te.context_length]) });
    return Float32Array.from(out[te.output]!.data as Float32Array);
  } finally {
    await session.release();
  }
}
