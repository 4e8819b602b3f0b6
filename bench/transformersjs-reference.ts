// The transformers.js peer: @huggingface/transformers on the same CLIP image tower in its own layout
// (onnx/vision_model.onnx, onnx/vision_model_quantized.onnx, preprocessor_config.json), offline from a
// local folder, with its own image loading and preprocessing; the bundle's head scores the embeddings.
//   node --import tsx bench/transformersjs-reference.ts '{"root":…,"modelId":…,"dtype":"fp32"|"q8",…}'
// Prints one JSON line: end-to-end and tower-alone images/s, peak RSS, and the scores of the timed run.
import { AutoProcessor, CLIPVisionModelWithProjection, env, RawImage, Tensor } from '@huggingface/transformers';
import { loadBundle } from '@clip-agiqa/core';

export interface TransformersJsTask {
  /** Folder that holds the model folder (transformers.js's localModelPath). */
  root: string;
  modelId: string;
  dtype: 'fp32' | 'q8';
  threads: number;
  batch: number;
  towerImages: number;
  /** The bundle whose head scores the embeddings. */
  bundle: string;
  images: string[];
}

const task = JSON.parse(process.argv[2]!) as TransformersJsTask;
env.allowRemoteModels = false;
env.localModelPath = task.root;
const model = await CLIPVisionModelWithProjection.from_pretrained(task.modelId, {
  dtype: task.dtype, device: 'cpu', session_options: { intraOpNumThreads: task.threads, interOpNumThreads: 1 },
});
const processor = await AutoProcessor.from_pretrained(task.modelId);
const head = (await loadBundle(task.bundle, { verifyChecksums: false })).heads[0]!;

async function score(paths: string[]): Promise<number[]> {
  const images = await Promise.all(paths.map((p) => RawImage.read(p)));
  const { pixel_values } = await processor(images);
  const { image_embeds } = await model({ pixel_values });
  return head.score(image_embeds.data as Float32Array, paths.length);
}

await score(task.images.slice(0, task.batch)); // warm-up
const scores: number[] = [];
let started = performance.now();
for (let i = 0; i < task.images.length; i += task.batch) scores.push(...await score(task.images.slice(i, i + task.batch)));
const e2e = task.images.length / ((performance.now() - started) / 1000);
const x = new Tensor('float32', new Float32Array(task.batch * 3 * 224 * 224).map(() => Math.random() * 2 - 1), [task.batch, 3, 224, 224]);
const runs = Math.max(1, Math.round(task.towerImages / task.batch));
started = performance.now();
for (let i = 0; i < runs; i++) await model({ pixel_values: x });
const tower = (runs * task.batch) / ((performance.now() - started) / 1000);
await model.dispose();
process.stdout.write(`${JSON.stringify({ e2e_images_per_s: e2e, tower_images_per_s: tower, peak_rss_mb: process.resourceUsage().maxRSS / 1024, scores })}\n`);
