import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import { ClipTokenizer } from '@clip-agiqa/core/internal';

import { AGIQA3K, python, pythonUnavailable, tempDir } from './support/helpers.js';

const TRICKY = [
  'a photo of perfect quality.',
  'A   Photo\tOF  a CAT, sitting on a mat!!',
  "it's the dog's bone; they're here, we've gone, I'm fine, you'll see, he'd go",
  'café naïve Ωmega 東京 タワー 😀 emoji',
  'Numbers 12345 and 3.14159, x2 and 2x',
  '<|startoftext|>explicit specials<|endoftext|>',
  'e\u0301 (decomposed) vs é',
  '',
];

describe('CLIP BPE tokenizer against transformers', () => {
  it('matches transformers token for token with a learned 3000-merge vocabulary', { skip: pythonUnavailable(['transformers']) ?? false }, async () => {
    using t = tempDir();
    let corpus: string[];
    try {
      corpus = readFileSync(join(AGIQA3K, 'data.csv'), 'utf8').split('\n').slice(1).map((l) => l.split(',').slice(1, -6).join(','));
    } catch {
      corpus = TRICKY.concat(Array.from({ length: 50 }, (_, i) => `a photograph of a ${['cat', 'dog', 'castle', 'forest'][i % 4]} number ${i}`));
    }
    const tests = [...TRICKY, ...corpus.slice(0, 400)];
    const r = python(['test/python/bpe_reference.py', t.dir], { input: JSON.stringify({ corpus, tests, merges: 3000 }) });
    assert.equal(r.status, 0, r.stderr);
    const expected = (JSON.parse(r.stdout.trim().split('\n').pop()!) as { ids: number[][] }).ids;
    const tok = await ClipTokenizer.fromFiles(join(t.dir, 'vocab.json'), join(t.dir, 'merges.txt'));
    tests.forEach((text, i) => assert.deepEqual([tok.startId, ...tok.encode(text), tok.endId], expected[i], JSON.stringify(text)));
  });
});
