import { BundleError } from '../errors.js';

/** The index of the first NaN or ±Infinity in `values`, or -1 when every value is finite. */
export function firstNonFinite(values: ArrayLike<number>): number {
  for (let i = 0; i < values.length; i++) if (!Number.isFinite(values[i]!)) return i;
  return -1;
}

/**
 * Refuses model values (weights, context vectors, text features, tower outputs on the import's probe
 * inputs) that hold NaN or Infinity: a head fed them scores every image alike (ReLU maps NaN to 0), so
 * such a model must never load. `tensor` names what holds them, `input` the file.
 */
export function requireFinite(values: ArrayLike<number>, tensor: string, input: string): void {
  const at = firstNonFinite(values);
  if (at >= 0) {
    throw new BundleError('NON_FINITE_VALUE', `${tensor} holds ${values[at]} at index ${at} of ${values.length}: the model's values must be finite numbers`, { input });
  }
}
