import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { DEMO_MODEL_DIR } from './helpers.js';

/**
 * The demo bundle's towers rearranged into the transformers.js layout (its text tower takes no
 * attention mask, as older exports do), with the configs the hub repositories carry.
 */
export function demoLayout(dir: string): string {
  mkdirSync(join(dir, 'onnx'), { recursive: true });
  const copy = (from: string, to: string) => copyFileSync(join(DEMO_MODEL_DIR, from), join(dir, to));
  copy('image_encoder.onnx', 'onnx/vision_model.onnx');
  copy('image_encoder.int8.onnx', 'onnx/vision_model_quantized.onnx');
  copy('text_encoder.onnx', 'onnx/text_model.onnx');
  copy('tokenizer/vocab.json', 'vocab.json');
  copy('tokenizer/merges.txt', 'merges.txt');
  const vocab = JSON.parse(readFileSync(join(dir, 'vocab.json'), 'utf8')) as Record<string, number>;
  writeFileSync(join(dir, 'config.json'), JSON.stringify({
    model_type: 'clip', projection_dim: 64,
    text_config: { vocab_size: Object.keys(vocab).length, max_position_embeddings: 77 },
    vision_config: { image_size: 224, patch_size: 32, hidden_size: 64, num_hidden_layers: 2 },
  }));
  writeFileSync(join(dir, 'preprocessor_config.json'), JSON.stringify({
    crop_size: 224, do_center_crop: true, do_normalize: true, do_resize: true, feature_extractor_type: 'CLIPFeatureExtractor',
    image_mean: [0.48145466, 0.4578275, 0.40821073], image_std: [0.26862954, 0.26130258, 0.27577711], resample: 3, size: 224,
  }));
  return dir;
}
