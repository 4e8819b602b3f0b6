import { fileURLToPath } from 'node:url';

/**
 * The bundled demo model: a tiny CLIP with random weights and an untrained head, built by
 * `tools/export --tiny --seed 0`. It exercises every code path; its scores mean nothing.
 */
export const DEMO_MODEL_DIR = fileURLToPath(new URL('../models/tiny-untrained/', import.meta.url));

/** The one warning every tool shows for a model with random weights (the demo model above is one); null for a trained model. */
export function untrainedWarning(model: { name: string; untrained: boolean }): string | null {
  return model.untrained ? `model ${model.name} is UNTRAINED (random weights): its scores mean nothing` : null;
}
