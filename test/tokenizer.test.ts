import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import { loadBundle } from '@clip-agiqa/core';
import { ClipTokenizer, openSession, parseSafetensors } from '@clip-agiqa/core/internal';
import * as ort from 'onnxruntime-node';

import { DEMO_MODEL_DIR } from './support/helpers.js';

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
