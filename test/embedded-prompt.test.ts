import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import { a1111Prompt, comfyGraphPrompt, embeddedPrompt } from '@clip-agiqa/core';

import { IMAGES } from './support/helpers.js';
import { A1111_PARAMETERS, DEFAULT_GRAPH, FLUX_GRAPH, pngWithText } from './support/png-text.js';

describe('prompts embedded in PNG metadata', () => {
  it('ComfyUI: the text of the CLIPTextEncode feeding the sampler\'s positive input, following links (workflow chunk beside it)', async () => {
    const png = await pngWithText({ prompt: JSON.stringify(DEFAULT_GRAPH), workflow: JSON.stringify({ nodes: [], links: [] }) });
    assert.deepEqual(embeddedPrompt(png), { prompt: 'beautiful scenery nature glass bottle landscape, purple galaxy bottle,', source: 'comfyui' });
    const flux = await pngWithText({ prompt: JSON.stringify(FLUX_GRAPH) });
    assert.deepEqual(embeddedPrompt(flux), { prompt: 'a lighthouse at dusk, 東京 style', source: 'comfyui' });
    assert.equal(comfyGraphPrompt({ '1': { class_type: 'SaveImage', inputs: { images: ['2', 0] } } }), undefined, 'no sampler');
    assert.equal(comfyGraphPrompt({ '1': { class_type: 'KSampler', inputs: { positive: ['1', 0] } } }), undefined, 'a cycle ends');
  });

  it('Automatic1111: the parameters text before "Negative prompt:", or before the settings line', async () => {
    const png = await pngWithText({ parameters: A1111_PARAMETERS });
    assert.equal(png.includes(Buffer.from('caf\xe9', 'latin1')), true, 'a Latin-1 prompt is a tEXt chunk, as Pillow writes it');
    assert.deepEqual(embeddedPrompt(png), { prompt: 'masterpiece, a café on a rainy street,\n(wearing a hat:1.2)', source: 'a1111' });
    assert.equal(a1111Prompt('a cat in 東京\nSteps: 30, Sampler: Euler a, CFG scale: 7, Seed: 1, Size: 512x512'), 'a cat in 東京');
    assert.equal(a1111Prompt('just a prompt'), 'just a prompt');
    assert.deepEqual(embeddedPrompt(await pngWithText({ parameters: 'a cat in 東京\nSteps: 30, Seed: 1' })), { prompt: 'a cat in 東京', source: 'a1111' });
  });

  it('other images and PNGs without a prompt have none; a damaged chunk is passed over', async () => {
    assert.equal(embeddedPrompt(readFileSync(join(IMAGES, 'landscape.jpg'))), undefined);
    assert.equal(embeddedPrompt(await pngWithText({ Software: 'GIMP' })), undefined);
    assert.equal(embeddedPrompt(await pngWithText({ prompt: '{"not": "a graph"}' })), undefined);
    const png = await pngWithText({ parameters: 'a red fox\nSteps: 20' });
    assert.deepEqual(embeddedPrompt(png.subarray(0, png.length - 30)), { prompt: 'a red fox', source: 'a1111' }, 'a file cut short keeps the chunks before the cut');
  });
});
