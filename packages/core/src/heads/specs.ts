import { LEVEL_WORDS } from './levels.js';

/** How many quality levels CLIP-AGIQA reads (terrible ... perfect). */
export const LEVELS = LEVEL_WORDS.length;

/** The floor of a norm before dividing by it, as torch.nn.functional.normalize has it: x / max(||x||, 1e-12). */
export const NORM_EPS = 1e-12;

/**
 * Each built-in head kind's tensors, by role (the keys of a manifest's `heads[].tensors`), with the names
 * the official code's state dict gives them: the names our tools write and the export tool reads.
 * Heads take their image through its L2-normalised embedding (NORM_EPS); level features are [LEVELS, D] rows.
 */
export const HEAD_KIND_TENSORS = {
  'clip-agiqa-mlp': {
    text_features: 'text_features', fc1_weight: 'fc1.weight', fc1_bias: 'fc1.bias', fc2_weight: 'fc2.weight', fc2_bias: 'fc2.bias',
  },
  'clip-agiqa-anchored': {
    level_features: 'level_features', logit_scale: 'logit_scale', level_values: 'level_values', category_weights: 'category_weights',
    bias: 'bias', residual1_weight: 'residual.0.weight', residual1_bias: 'residual.0.bias', residual2_weight: 'residual.2.weight',
    residual2_bias: 'residual.2.bias',
  },
  'clip-agiqa-align': { fc1_weight: 'fc1.weight', fc1_bias: 'fc1.bias', fc2_weight: 'fc2.weight', fc2_bias: 'fc2.bias' },
} as const;
