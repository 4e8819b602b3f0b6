import assert from 'node:assert/strict';

import { pngChunk } from '@clip-agiqa/core/internal';
import sharp from 'sharp';

/**
 * A PNG with text chunks as Pillow's PngInfo.add_text writes them (ComfyUI and Automatic1111 both save through
 * it): tEXt when the text is Latin-1, else an uncompressed iTXt, after IHDR and before the image data.
 */
export async function pngWithText(texts: Record<string, string>, size = 8): Promise<Buffer> {
  const base = await sharp({ create: { width: size, height: size, channels: 3, background: '#3a7' } }).png().toBuffer();
  const chunks = Object.entries(texts).map(([key, value]) => {
    const latin1 = [...value].every((c) => c.codePointAt(0)! < 256);
    return latin1
      ? pngChunk('tEXt', Buffer.from(`${key}\0${value}`, 'latin1'))
      : pngChunk('iTXt', Buffer.concat([Buffer.from(`${key}\0\0\0\0\0`, 'latin1'), Buffer.from(value, 'utf8')]));
  });
  const ihdrEnd = 8 + 12 + 13;
  assert.equal(base.toString('latin1', 12, 16), 'IHDR');
  return Buffer.concat([base.subarray(0, ihdrEnd), ...chunks, base.subarray(ihdrEnd)]);
}


/** ComfyUI's default text-to-image graph in its API format, the negative encoder numbered before the positive one. */
export const DEFAULT_GRAPH = {
  '2': { inputs: { text: 'text, watermark', clip: ['4', 1] }, class_type: 'CLIPTextEncode', _meta: { title: 'CLIP Text Encode (Negative)' } },
  '3': {
    inputs: { seed: 156680208700286, steps: 20, cfg: 8, sampler_name: 'euler', scheduler: 'normal', denoise: 1, model: ['4', 0], positive: ['6', 0], negative: ['2', 0], latent_image: ['5', 0] },
    class_type: 'KSampler', _meta: { title: 'KSampler' },
  },
  '4': { inputs: { ckpt_name: 'v1-5-pruned-emaonly.safetensors' }, class_type: 'CheckpointLoaderSimple' },
  '5': { inputs: { width: 512, height: 512, batch_size: 1 }, class_type: 'EmptyLatentImage' },
  '6': { inputs: { text: 'beautiful scenery nature glass bottle landscape, purple galaxy bottle,', clip: ['4', 1] }, class_type: 'CLIPTextEncode' },
  '8': { inputs: { samples: ['3', 0], vae: ['4', 2] }, class_type: 'VAEDecode' },
  '9': { inputs: { filename_prefix: 'ComfyUI', images: ['8', 0] }, class_type: 'SaveImage' },
};

/** A Flux graph: SamplerCustomAdvanced <- CFGGuider <- ControlNetApplyAdvanced <- FluxGuidance <- CLIPTextEncode <- a string primitive. */
export const FLUX_GRAPH = {
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

/** Automatic1111's parameters text: prompt, negative prompt, settings line. */
export const A1111_PARAMETERS = 'masterpiece, a café on a rainy street,\n(wearing a hat:1.2)\nNegative prompt: lowres, blurry\n'
  + 'Steps: 20, Sampler: DPM++ 2M Karras, CFG scale: 7, Seed: 1234, Size: 512x768, Model hash: 6ce0161689, Model: v1-5-pruned-emaonly, Version: v1.9.4';
