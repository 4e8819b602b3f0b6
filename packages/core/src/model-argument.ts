import { fileURLToPath } from 'node:url';

import type { Bundle } from './bundle/load.js';
import { UsageError } from './errors.js';

const WHAT_TO_PASS = "pass { model: 'path/to/bundle' }: a bundle folder, the http(s) URL of a published bundle, or a bundle from loadBundle()"
  + " (DEMO_MODEL_DIR is the untrained demo model, for trying the API)";

function isBundle(x: object): x is Bundle {
  return 'manifest' in x && 'heads' in x && typeof (x as Bundle).imageEncoderPath === 'function';
}

/**
 * The model a caller asked createScorer() for, as a folder path, a bundle URL string or a loaded bundle.
 * Refuses missing options and models of the wrong kind with an error that says what to pass; a `URL`
 * object is accepted (file: URLs as paths).
 */
export function modelArgument(options: unknown): string | Bundle {
  if (typeof options !== 'object' || options === null) {
    throw new UsageError('INVALID_ARGUMENT', `createScorer() needs options naming a model: ${WHAT_TO_PASS}`);
  }
  const model: unknown = (options as { model?: unknown }).model;
  if (model === undefined || model === null || model === '') {
    throw new UsageError('INVALID_ARGUMENT', `createScorer() was given no model: ${WHAT_TO_PASS}`);
  }
  if (typeof model === 'string') return model;
  if (model instanceof URL) return model.protocol === 'file:' ? fileURLToPath(model) : model.href;
  if (typeof model === 'object' && isBundle(model)) return model;
  throw new UsageError('INVALID_ARGUMENT', `createScorer() cannot use a model of type ${typeName(model)}: ${WHAT_TO_PASS}`);
}

/** A short description of a value of unexpected type, for error messages. */
export function typeName(x: unknown): string {
  if (x === null) return 'null';
  if (typeof x !== 'object') return typeof x;
  return (x as object).constructor?.name ?? 'object';
}
