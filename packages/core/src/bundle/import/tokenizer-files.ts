import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { ImportError } from '../../errors.js';
import type { SourceLayout } from './source-layout.js';

export interface ClipVocabulary {
  vocab: Record<string, number>;
  merges: string;
  /** One more than the largest token id. */
  size: number;
}

function refuse(file: string, message: string): never {
  throw new ImportError('TOKENIZER_MISMATCH', message, { input: file });
}

/** CLIP's byte-level BPE vocabulary and merges from a `tokenizer.json` written by the `tokenizers` library. */
function fromTokenizerJson(json: unknown, file: string): ClipVocabulary {
  const model = (json as { model?: { type?: string; vocab?: unknown; merges?: unknown; end_of_word_suffix?: string } }).model;
  if (model?.type !== 'BPE' || !model.vocab || !Array.isArray(model.merges)) refuse(file, 'its model is not a BPE tokenizer: not CLIP\'s');
  if (model.end_of_word_suffix !== '</w>') refuse(file, `end_of_word_suffix is ${JSON.stringify(model.end_of_word_suffix)}, CLIP's BPE uses "</w>"`);
  const vocab = { ...(model.vocab as Record<string, number>) };
  for (const t of (json as { added_tokens?: { id: number; content: string }[] }).added_tokens ?? []) vocab[t.content] = t.id;
  // tokenizers writes merges as "a b" strings (older) or [a, b] pairs (0.20+).
  const merges = (model.merges as (string | [string, string])[]).map((m) => (typeof m === 'string' ? m : m.join(' ')));
  return { vocab, merges: `#version: 0.2\n${merges.join('\n')}\n`, size: Math.max(...Object.values(vocab)) + 1 };
}

/**
 * Reads the source's CLIP tokenizer (vocab.json + merges.txt, or tokenizer.json) and writes it into the
 * bundle as tokenizer/vocab.json + tokenizer/merges.txt. Refuses a tokenizer that is not CLIP's BPE.
 */
export async function importTokenizer(source: SourceLayout, out: string): Promise<ClipVocabulary & { source: string }> {
  const t = source.tokenizer;
  if (!t) {
    // Name the file the user is missing: merges.txt beside a vocab.json, else tokenizer.json.
    const half = await stat(join(source.dir, 'vocab.json')).then((s) => s.isFile(), () => false);
    throw new ImportError('BUNDLE_MISSING_FILE', 'missing: the text tower needs its tokenizer (tokenizer.json, or vocab.json + merges.txt)',
      { input: join(source.dir, half ? 'merges.txt' : 'tokenizer.json') });
  }
  let result: ClipVocabulary & { source: string };
  if ('json' in t) {
    const file = join(source.dir, t.json);
    let json: unknown;
    try {
      json = JSON.parse(await readFile(file, 'utf8'));
    } catch (e) {
      return refuse(file, `not JSON: ${(e as Error).message}`);
    }
    result = { ...fromTokenizerJson(json, file), source: file };
  } else {
    const file = join(source.dir, t.vocab);
    let vocab: Record<string, number>;
    try {
      vocab = JSON.parse(await readFile(file, 'utf8')) as Record<string, number>;
    } catch (e) {
      return refuse(file, `not JSON: ${(e as Error).message}`);
    }
    result = { vocab, merges: await readFile(join(source.dir, t.merges), 'utf8'), size: Math.max(...Object.values(vocab)) + 1, source: file };
  }
  for (const special of ['<|startoftext|>', '<|endoftext|>']) {
    if (result.vocab[special] === undefined) refuse(result.source, `the vocabulary has no ${special}: not CLIP's tokenizer`);
  }
  await mkdir(join(out, 'tokenizer'), { recursive: true });
  await writeFile(join(out, 'tokenizer/vocab.json'), JSON.stringify(result.vocab));
  await writeFile(join(out, 'tokenizer/merges.txt'), result.merges);
  return result;
}
