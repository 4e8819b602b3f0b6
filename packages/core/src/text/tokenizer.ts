import { readFile } from 'node:fs/promises';

import { BundleError, UsageError } from '../errors.js';

const START = '<|startoftext|>';
const END = '<|endoftext|>';
// CLIP's pre-tokenisation pattern (after lower-casing, so case-insensitivity does not matter).
const PATTERN = /<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|\p{L}+|\p{N}|[^\s\p{L}\p{N}]+/gu;

/** GPT-2/CLIP's reversible byte -> printable character table. */
function byteEncoder(): string[] {
  const bytes: number[] = [];
  for (let b = 33; b <= 126; b++) bytes.push(b);
  for (let b = 161; b <= 172; b++) bytes.push(b);
  for (let b = 174; b <= 255; b++) bytes.push(b);
  const chars = bytes.slice();
  let n = 0;
  for (let b = 0; b < 256; b++) {
    if (!bytes.includes(b)) {
      bytes.push(b);
      chars.push(256 + n++);
    }
  }
  const table = new Array<string>(256);
  bytes.forEach((b, i) => (table[b] = String.fromCodePoint(chars[i]!)));
  return table;
}

/**
 * CLIP's byte-level BPE tokenizer, from a bundle's vocab.json and merges.txt (Hugging Face layout).
 * Normalisation follows transformers' CLIPTokenizer: NFC, runs of whitespace to one space, lower case.
 */
export class ClipTokenizer {
  private readonly bytes = byteEncoder();
  private readonly ranks: Map<string, number>;
  private readonly cache = new Map<string, number[]>();
  readonly startId: number;
  readonly endId: number;

  constructor(private readonly vocab: Map<string, number>, merges: [string, string][]) {
    this.ranks = new Map(merges.map(([a, b], i) => [`${a} ${b}`, i]));
    const id = (t: string) => {
      const v = vocab.get(t);
      if (v === undefined) throw new BundleError('BAD_TENSOR', `the tokenizer vocabulary has no ${t}`);
      return v;
    };
    this.startId = id(START);
    this.endId = id(END);
  }

  static async fromFiles(vocabPath: string, mergesPath: string): Promise<ClipTokenizer> {
    const vocab = JSON.parse(await readFile(vocabPath, 'utf8')) as Record<string, number>;
    const merges = (await readFile(mergesPath, 'utf8')).split('\n')
      .filter((line, i) => line.trim() !== '' && !(i === 0 && line.startsWith('#version')))
      .map((line) => line.split(' ') as [string, string]);
    return new ClipTokenizer(new Map(Object.entries(vocab)), merges);
  }

  private bpe(token: string): number[] {
    const cached = this.cache.get(token);
    if (cached) return cached;
    const chars = [...token];
    let word = [...chars.slice(0, -1), `${chars[chars.length - 1]}</w>`];
    while (word.length > 1) {
      let best = -1;
      let bestRank = Infinity;
      for (let i = 0; i < word.length - 1; i++) {
        const rank = this.ranks.get(`${word[i]} ${word[i + 1]}`);
        if (rank !== undefined && rank < bestRank) {
          bestRank = rank;
          best = i;
        }
      }
      if (best < 0) break;
      const [a, b] = [word[best]!, word[best + 1]!];
      const merged: string[] = [];
      for (let i = 0; i < word.length; ) {
        if (i < word.length - 1 && word[i] === a && word[i + 1] === b) {
          merged.push(a + b);
          i += 2;
        } else merged.push(word[i++]!);
      }
      word = merged;
    }
    const ids = word.map((piece) => {
      const id = this.vocab.get(piece);
      if (id === undefined) throw new BundleError('BAD_TENSOR', `the tokenizer vocabulary has no ${piece}`);
      return id;
    });
    if (this.cache.size >= 50_000) this.cache.clear();
    this.cache.set(token, ids);
    return ids;
  }

  /** Token ids of `text`, without the start and end tokens. */
  encode(text: string): number[] {
    const clean = text.normalize('NFC').replace(/\s+/gu, ' ').trim().toLowerCase();
    const ids: number[] = [];
    for (const match of clean.matchAll(PATTERN)) {
      const piece = match[0];
      if (piece === START || piece === END) {
        ids.push(piece === START ? this.startId : this.endId);
        continue;
      }
      const encoded = [...new TextEncoder().encode(piece)].map((b) => this.bytes[b]!).join('');
      ids.push(...this.bpe(encoded));
    }
    return ids;
  }

  /**
   * One text as the text tower reads it: [start, tokens..., end], cut as CLIP cuts it when longer than
   * `contextLength` (the first contextLength - 1 tokens, then the end token), with the uncut length.
   */
  tokenizeText(text: string, contextLength = 77): { ids: number[]; tokens: number; truncated: boolean } {
    const ids = [this.startId, ...this.encode(text), this.endId];
    if (ids.length <= contextLength) return { ids, tokens: ids.length, truncated: false };
    return { ids: [...ids.slice(0, contextLength - 1), this.endId], tokens: ids.length, truncated: true };
  }

  /**
   * The text tower's input: [start, tokens..., end] padded with 0 to `contextLength`, one row per text.
   * Longer texts are cut, keeping the end token last, or refused when `truncate` is false.
   */
  tokenize(texts: string[], contextLength = 77, truncate = true): BigInt64Array {
    const out = new BigInt64Array(texts.length * contextLength);
    texts.forEach((text, row) => {
      const { ids, tokens, truncated } = this.tokenizeText(text, contextLength);
      if (truncated && !truncate) throw new UsageError('INVALID_ARGUMENT', `text ${row} has ${tokens} tokens, over the context of ${contextLength}`);
      ids.forEach((id, i) => (out[row * contextLength + i] = BigInt(id)));
    });
    return out;
  }
}
