import assert from 'node:assert/strict';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';

import { createScorer, InputError, isFailure, UsageError, type ImageInput, type Scorer, type ScorerOptions } from '@clip-agiqa/core';

import { DEMO_MODEL_DIR, IMAGES } from './support/helpers.js';

/** createScorer as a JavaScript caller without type checks would call it. */
const createUnchecked = createScorer as (options?: unknown) => Promise<Scorer>;

describe('createScorer arguments', () => {
  for (const [label, args] of [['no options', []], ['{}', [{}]], ['{ model: undefined }', [{ model: undefined }]], ['null', [null]]] as const) {
    it(`refuses ${label} with a UsageError that says what to pass`, async () => {
      await assert.rejects(createUnchecked(...args), (e: unknown) => {
        assert.ok(e instanceof UsageError, String(e));
        assert.equal(e.code, 'INVALID_ARGUMENT');
        assert.match(e.message, /\{ model: 'path\/to\/bundle' \}/);
        assert.match(e.message, /DEMO_MODEL_DIR/);
        return true;
      });
    });
  }

  it('refuses a model of the wrong type', async () => {
    await assert.rejects(createUnchecked({ model: 42 }), (e: unknown) => e instanceof UsageError && /model of type number/.test(e.message));
  });

  it('accepts a file: URL as the model folder', async () => {
    const scorer = await createScorer({ model: pathToFileURL(DEMO_MODEL_DIR) } satisfies ScorerOptions);
    try {
      assert.equal(scorer.model.heads[0]!.name, 'quality');
    } finally {
      await scorer.close();
    }
  });
});

describe('URL objects as image inputs', () => {
  let scorer: Scorer;
  before(async () => {
    scorer = await createScorer({ model: DEMO_MODEL_DIR });
  });
  after(async () => scorer.close());

  it('scores a file: URL as its path', async () => {
    const path = join(IMAGES, 'landscape.jpg');
    const [byUrl, byPath] = [await scorer.score(pathToFileURL(path)), await scorer.score(path)];
    assert.equal(byUrl.id, path);
    assert.equal(byUrl.scores.quality, byPath.scores.quality);
  });

  it('refuses an http(s) URL with a typed error that says what to pass, failing only that input', async () => {
    const url = new URL('https://example.com/render.png');
    await assert.rejects(scorer.score(url), (e: unknown) => {
      assert.ok(e instanceof InputError, String(e));
      assert.equal(e.code, 'UNSUPPORTED_INPUT');
      assert.match(e.message, /^https:\/\/example\.com\/render\.png: https: URLs are not fetched.*bytes/);
      return true;
    });
    const [bad, good] = await scorer.score([url, join(IMAGES, 'square.png')]);
    assert.ok(isFailure(bad!) && bad.error.code === 'UNSUPPORTED_INPUT');
    assert.ok(!isFailure(good!));
  });

  it('refuses inputs of other types with UNSUPPORTED_INPUT', async () => {
    await assert.rejects(scorer.score(42 as unknown as ImageInput), (e: unknown) => e instanceof InputError && e.code === 'UNSUPPORTED_INPUT' && /cannot score a number/.test(e.message));
  });
});
