import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import { withScoreMetadata } from '@clip-agiqa/core';
import { withJpegXmp, withPngText } from '@clip-agiqa/core/internal';
import sharp from 'sharp';

import { IMAGES } from './support/helpers.js';

describe('score metadata', () => {
  it('adds our record to an existing XMP packet, keeping what was there, and replaces it on rescoring', async () => {
    const jpeg = await sharp(readFileSync(join(IMAGES, 'landscape.jpg')))
      .withXmp('<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:creator>someone</dc:creator></rdf:Description></rdf:RDF></x:xmpmeta>')
      .jpeg().toBuffer();
    const once = withJpegXmp(jpeg, '{"score":1}');
    const twice = withJpegXmp(once, '{"score":2}');
    const xmp = (await sharp(twice).metadata()).xmp!.toString('utf8');
    assert.match(xmp, /<dc:creator>someone<\/dc:creator>/);
    assert.match(xmp, /\{&quot;score&quot;:2\}/);
    assert.doesNotMatch(xmp, /score&quot;:1/);
    assert.ok((await sharp(twice).raw().toBuffer()).equals(await sharp(jpeg).raw().toBuffer()));
  });

  it('keeps a PNG valid and its pixels unchanged', async () => {
    const png = readFileSync(join(IMAGES, 'square.png'));
    const tagged = withPngText(png, 'é ✓ {"unicode": true}');
    assert.ok((await sharp(tagged).raw().toBuffer()).equals(await sharp(png).raw().toBuffer()));
    assert.ok(tagged.includes(Buffer.from('é ✓', 'utf8')));
  });

  it('refuses formats it cannot tag losslessly, and broken files', () => {
    assert.throws(() => withScoreMetadata(readFileSync(join(IMAGES, 'wide.webp')), '{}'), /webp.*--sidecar/);
    assert.throws(() => withPngText(readFileSync(join(IMAGES, 'square.png')).subarray(0, 5000), '{}'), /past the end|no IEND/);
  });
});
