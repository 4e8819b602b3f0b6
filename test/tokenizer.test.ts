import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import { loadBundle } from '@clip-agiqa/core';
import { ClipTokenizer, openSession, parseSafetensors } from '@clip-agiqa/core/internal';
import * as ort from 'onnxruntime-node';

import { AGIQA3K, DEMO_MODEL_DIR, python, pythonUnavailable, tempDir } from './support/helpers.js';

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

describe('CLIP BPE tokenizer', () => {
  it('reproduces transformers\' CLIPTokenizer on the demo bundle\'s vocabulary', async () => {
    const tok = await ClipTokenizer.fromFiles(join(DEMO_MODEL_DIR, 'tokenizer/vocab.json'), join(DEMO_MODEL_DIR, 'tokenizer/merges.txt'));
    // Reference ids from transformers' CLIPTokenizer on this vocabulary.
    assert.deepEqual([tok.startId, ...tok.encode('a photo of perfect quality.'), tok.endId], [550, 320, 515, 516, 549, 522, 269, 551]);
    const ids = tok.tokenize(['good', 'x'.repeat(200)], 77);
    assert.equal(ids.length, 154);
    assert.deepEqual([...ids.slice(0, 4)].map(Number), [550, 543, 551, 0]); // transformers: 'good' -> [550, 543, 551]
    assert.equal(Number(ids[153]), 551, 'a truncated text still ends with the end token');
    assert.throws(() => tok.tokenize(['x'.repeat(200)], 77, false), /over the context/);
  });

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

describe('text tower', () => {
  it('encodes the level prompts, tokenized in TypeScript, into the head\'s stored text features', async () => {
    const bundle = await loadBundle(DEMO_MODEL_DIR);
    const te = bundle.manifest.text_encoder!;
    const head = bundle.manifest.heads[0]!;
    const tok = await ClipTokenizer.fromFiles(join(DEMO_MODEL_DIR, te.tokenizer.vocab), join(DEMO_MODEL_DIR, te.tokenizer.merges));
    const prompts = head.levels!.map((level) => head.prompt_template!.replace('{level}', level));
    const ids = tok.tokenize(prompts, te.context_length);
    const { session } = await openSession(join(DEMO_MODEL_DIR, te.file));
    const out = await session.run({ [te.input]: new ort.Tensor('int64', ids, [prompts.length, te.context_length]) });
    const embeds = out[te.output]!.data as Float32Array;
    const stored = parseSafetensors(readFileSync(join(DEMO_MODEL_DIR, head.file)), head.file).get(head.tensors.text_features!)!.data;
    const worst = Math.max(...[...stored].map((v, i) => Math.abs(v - embeds[i]!)));
    assert.ok(worst <= 1e-4, `text features differ by ${worst}`);
    await session.release();
  });
});
