import type { ImageInput, Scorer } from '@clip-agiqa/core';

import { inputWidth, prepareInputs, type HeadModel } from '../heads/head-model.js';
import { Rng } from '../rng.js';
import type { MatmulBackend } from './linalg.js';
import { epochBatches, PAPER_RECIPE } from './trainer.js';

/** Fastest of `repeats` timed calls, after one untimed warm-up call, in seconds. */
async function fastest(repeats: number, call: () => Promise<unknown>): Promise<number> {
  await call();
  let best = Infinity;
  for (let k = 0; k < repeats; k++) {
    const started = performance.now();
    await call();
    best = Math.min(best, (performance.now() - started) / 1000);
  }
  return best;
}

/** Seconds one image takes through the scorer's preprocessing and image tower here, measured on `image`. */
export function timeTowerPass(scorer: Scorer, image: ImageInput, repeats = 2): Promise<number> {
  return fastest(repeats, () => scorer.embed(image));
}

/** Seconds one training step (a full batch, forward and backward, with dropout) takes on this backend, measured on random embeddings. */
export function timeTrainingStep(model: HeadModel, backend: MatmulBackend, batchSize: number = PAPER_RECIPE.batchSize, repeats = 3): Promise<number> {
  const rng = new Rng(0);
  const params = model.init(rng);
  const images = prepareInputs(model, Float32Array.from({ length: batchSize * inputWidth(model) }, () => rng.uniform(-0.5, 0.5)), batchSize);
  const targets = new Float64Array(batchSize);
  return fastest(repeats, () => model.lossAndGradients(params, images, targets, backend, { rate: PAPER_RECIPE.dropout, rng }));
}

export interface RunPlan {
  /** Image-tower passes still to run (what the embedding cache lacks). */
  towerPasses: number;
  /** Training images per run, runs, epochs and batch size. */
  trainImages: number;
  runs: number;
  epochs: number;
  batchSize?: number;
}

/** Seconds a run will take, from the measured per-pass and per-step times: embedding, then training. */
export function estimateSeconds(plan: RunPlan, towerSeconds: number, stepSeconds: number): { embed: number; train: number } {
  const steps = epochBatches(Array.from({ length: plan.trainImages }, (_, i) => i), plan.batchSize ?? PAPER_RECIPE.batchSize).length;
  return { embed: plan.towerPasses * towerSeconds, train: plan.runs * plan.epochs * steps * stepSeconds };
}
