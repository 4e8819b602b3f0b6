import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import { a1111Prompt, comfyGraphPrompt, embeddedPrompt } from '@clip-agiqa/core';

import { IMAGES, python, pythonUnavailable, tempDir } from './support/helpers.js';
import { DEFAULT_GRAPH, pngWithText } from './support/png-text.js';

/** A Flux graph: SamplerCustomAdvanced <- CFGGuider <- ControlNetApplyAdvanced <- FluxGuidance <- CLIPTextEncode <- a string primitive. */
const FLUX_GRAPH = {
  '10': { inputs: { noise: ['11', 0], guider: ['12', 0], sampler: ['13', 0], sigmas: ['14', 0], latent_image: ['5', 0] }, class_type: 'SamplerCustomAdvanced' },
  '12': { inputs: { model: ['4', 0], positive: ['15', 0], negative: ['16', 0], cfg: 1 }, class_type: 'CFGGuider' },
  '15': { inputs: { strength: 0.8, positive: ['17', 0], negative: ['16', 0], control_net: ['20', 0], image: ['21', 0] }, class_type: 'ControlNetApplyAdvanced' },
  '16': { inputs: { text: 'blurry', clip: ['4', 1] }, class_type: 'CLIPTextEncode' },
  '17': { inputs: { guidance: 3.5, conditioning: ['18', 0] }, class_type: 'FluxGuidance' },
  '18': { inputs: { text: ['19', 0], clip: ['4', 1] }, class_type: 'CLIPTextEncode' },
  '19': { inputs: { value: 'a lighthouse at dusk, 東京 style' }, class_type: 'PrimitiveString' },
  '20': { inputs: { control_net_name: 'canny.safetensors' }, class_type: 'ControlNetLoader' },
  '21': { inputs: { image: 'edges.png' }, class_type: 'LoadImage' },
};

const A1111 = 'masterpiece, a café on a rainy street,\n(wearing a hat:1.2)\nNegative prompt: lowres, blurry\n'
  + 'Steps: 20, Sampler: DPM++ 2M Karras, CFG scale: 7, Seed: 1234, Size: 512x768, Model hash: 6ce0161689, Model: v1-5-pruned-emaonly, Version: v1.9.4';

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
    const png = await pngWithText({ parameters: A1111 });
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

  it('reads what Pillow\'s PngInfo writes, as ComfyUI and Automatic1111 save', { skip: pythonUnavailable(['PIL']) ?? false }, () => {
    using t = tempDir();
    const script = 'import json, sys\nfrom PIL import Image\nfrom PIL.PngImagePlugin import PngInfo\n'
      + 'm = PngInfo(); m.add_text("prompt", json.dumps(json.loads(sys.argv[1]))); m.add_text("workflow", "{}")\n'
      + 'Image.new("RGB", (16, 16), (90, 120, 40)).save(sys.argv[2], pnginfo=m, compress_level=4)\n'
      + 'a = PngInfo(); a.add_text("parameters", sys.argv[3])\nImage.new("RGB", (16, 16)).save(sys.argv[4], pnginfo=a)\n';
    const comfy = join(t.dir, 'ComfyUI_00001_.png');
    const webui = join(t.dir, '00000-1234.png');
    const r = python(['-c', script, JSON.stringify(FLUX_GRAPH), comfy, A1111.replace('café', '東京 café'), webui]);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(embeddedPrompt(readFileSync(comfy)), { prompt: 'a lighthouse at dusk, 東京 style', source: 'comfyui' });
    assert.deepEqual(embeddedPrompt(readFileSync(webui)), { prompt: 'masterpiece, a 東京 café on a rainy street,\n(wearing a hat:1.2)', source: 'a1111' });
  });
});
