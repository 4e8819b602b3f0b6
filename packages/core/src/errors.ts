import type { WireError } from './generated/defs.js';

/** Stable, machine-readable codes of core's errors. Adapters map them to wire errors and HTTP statuses. */
export type ErrorCode =
  // inputs
  | 'EMPTY_INPUT'
  | 'UNREADABLE_FILE'
  | 'FILE_TOO_LARGE'
  | 'UNSUPPORTED_FORMAT'
  | 'UNSAFE_FORMAT'
  | 'CORRUPT_IMAGE'
  | 'TOO_MANY_PIXELS'
  | 'INVALID_PIXELS'
  | 'UNSUPPORTED_INPUT'
  | 'PROMPT_REQUIRED'
  // bundles
  | 'BUNDLE_NOT_FOUND'
  | 'BUNDLE_MISSING_FILE'
  | 'CHECKSUM_MISMATCH'
  | 'SCHEMA_VIOLATION'
  | 'UNSUPPORTED_BUNDLE_VERSION'
  | 'BAD_TENSOR'
  | 'NON_FINITE_VALUE'
  | 'DOWNLOAD_FAILED'
  // importing models from other layouts
  | 'NOT_A_CLIP_MODEL'
  | 'MISSING_VISION_MODEL'
  | 'JOINT_ONLY_MODEL'
  | 'CORRUPT_ONNX'
  | 'TOKENIZER_MISMATCH'
  | 'UNSUPPORTED_PREPROCESS'
  // runtime
  | 'DEVICE_UNAVAILABLE'
  | 'SHAPE_MISMATCH'
  | 'INFERENCE_FAILED'
  | 'NON_FINITE_OUTPUT'
  | 'WORKER_EXITED'
  | 'INVALID_ARGUMENT'
  | 'SCORER_CLOSED'
  // policies (what to decide about scored candidates)
  | 'UNKNOWN_HEAD'
  | 'INVALID_POLICY';

/** The wire form of any SDK error: schemas/defs.schema.json#/$defs/error, with the error's own codes. */
export type ErrorJSON<C extends string = ErrorCode> = WireError & { code: C };

// Marks SDK errors across copies of this module (two installed versions of the package still agree).
const BRAND = Symbol.for('clip-agiqa.error');
const USAGE = Symbol.for('clip-agiqa.usage-error');

/**
 * Base of every error any clip-agiqa package throws on purpose: a `name` (the class) and a stable `code`.
 * Packages extend it with their own codes; `input` names the offending image, file, bundle or flag.
 */
export class ClipAgiqaError<C extends string = ErrorCode> extends Error {
  readonly code: C;
  readonly input: string | undefined;

  constructor(code: C, message: string, options: { input?: string; cause?: unknown } = {}) {
    super(options.input ? `${options.input}: ${message}` : message, options.cause === undefined ? {} : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.input = options.input;
    Object.defineProperty(this, BRAND, { value: true });
  }

  toJSON(): ErrorJSON<C> {
    return { code: this.code, message: this.message, ...(this.input === undefined ? {} : { input: this.input }) };
  }
}

/** A bad image: unreadable, unsupported, corrupt, unsafe or too large. Fails that image only. */
export class InputError extends ClipAgiqaError {}

/** A model bundle that is missing, malformed, tampered with or of an unknown version. */
export class BundleError extends ClipAgiqaError {}

/** A model that cannot be imported as a bundle; `input` names the offending file. */
export class ImportError extends BundleError {}

/** An execution provider that is not available here. */
export class DeviceError extends ClipAgiqaError {}

/** The inference worker failed or died: the model could not run, whatever the input. */
export class InferenceError extends ClipAgiqaError {}

/** Misuse of the API or the command line: bad option, unknown head, closed scorer, wrong tensor shapes. */
export class UsageError<C extends string = ErrorCode> extends ClipAgiqaError<C> {
  constructor(code: C, message: string, options: { input?: string; cause?: unknown } = {}) {
    super(code, message, options);
    Object.defineProperty(this, USAGE, { value: true });
  }
}

/** Codes of a refused policy: it names a head the model lacks, or asks for something no mode does. */
export type PolicyErrorCode = 'UNKNOWN_HEAD' | 'INVALID_POLICY' | 'SCHEMA_VIOLATION';

/**
 * A policy that cannot be applied: the same code and message from every entry that takes one (the
 * library, the webhook service, the ComfyUI bridge, the CLI), as they all check it in one place.
 */
export class PolicyError extends UsageError<PolicyErrorCode> {}

/** True for an error of any clip-agiqa package (any code, any copy of this module). */
export function isClipAgiqaError(e: unknown): e is ClipAgiqaError<string> {
  return e instanceof Error && (e as unknown as Record<symbol, unknown>)[BRAND] === true;
}

/** True for a usage error of any clip-agiqa package: the caller (or command line) asked for something impossible. */
export function isUsageError(e: unknown): e is UsageError<string> {
  return isClipAgiqaError(e) && (e as unknown as Record<symbol, unknown>)[USAGE] === true;
}
