/** Stable, machine-readable error codes. Adapters map them to wire errors and HTTP statuses. */
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
  // bundles
  | 'BUNDLE_NOT_FOUND'
  | 'BUNDLE_MISSING_FILE'
  | 'CHECKSUM_MISMATCH'
  | 'SCHEMA_VIOLATION'
  | 'UNSUPPORTED_BUNDLE_VERSION'
  | 'BAD_TENSOR'
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
  | 'UNKNOWN_HEAD'
  | 'INVALID_ARGUMENT'
  | 'SCORER_CLOSED';

export interface ErrorJSON {
  code: ErrorCode;
  message: string;
  input?: string;
}

/** Base of every error the SDK throws on purpose. `input` names the offending image, file or bundle. */
export class ClipAgiqaError extends Error {
  readonly code: ErrorCode;
  readonly input: string | undefined;

  constructor(code: ErrorCode, message: string, options: { input?: string; cause?: unknown } = {}) {
    super(options.input ? `${options.input}: ${message}` : message, { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.input = options.input;
  }

  toJSON(): ErrorJSON {
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

/** Misuse of the API: bad option, unknown head, closed scorer, wrong tensor shapes. */
export class UsageError extends ClipAgiqaError {}

export function isClipAgiqaError(e: unknown): e is ClipAgiqaError {
  return e instanceof ClipAgiqaError;
}
