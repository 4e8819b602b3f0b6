export { createScorer } from './scorer.js';
export type { Scorer, ScorerOptions, ScoreOptions, ScorerStats, ModelInfo, HeadInfo } from './scorer.js';
export type {
  ScoreResult, ScoreFailure, ScoreOutcome, RankedResult, Ranking, FilterPolicy, FilterResult, BestOfResult,
} from './results.js';
export { isFailure, rankOutcomes, filterRanking } from './results.js';

export { loadBundle, readManifest, parseManifest, PRECISIONS, SUPPORTED_FORMAT_VERSIONS } from './bundle/load.js';
export type { Bundle, LoadBundleOptions, Precision } from './bundle/load.js';
export { downloadBundle } from './bundle/download.js';
export type { DownloadOptions, DownloadProgress } from './bundle/download.js';
export { resolveModel, defaultCacheDir } from './bundle/resolve.js';
export { parseSafetensors } from './bundle/safetensors.js';
export type { Tensor } from './bundle/safetensors.js';
export { sha256File } from './bundle/checksum.js';
export { DEMO_MODEL_DIR } from './demo.js';

export { ClipTokenizer } from './text/tokenizer.js';

export type { Head } from './heads/head.js';
export { createHead, headKinds } from './heads/registry.js';
export type { HeadEntry } from './heads/head.js';

export type { ImageInput, ImageSource, LabelledImage, RawPixels } from './image/input.js';
export { clipPixels, cropRgb, decodeRgb, normaliseInto, preprocessConfig, shortestEdgeSize, DEFAULT_LIMITS, RESAMPLERS } from './image/preprocess.js';
export type { PreprocessConfig, DecodeLimits, Resampler, RgbImage } from './image/preprocess.js';
export { pilBicubicResize } from './image/pil-bicubic.js';
export { sniffFormat, SAFE_FORMATS, UNSAFE_FORMATS } from './image/sniff.js';
export type { SniffedFormat } from './image/sniff.js';

export { openSession, compiledDevices, DEVICES } from './runtime/device.js';
export { Semaphore } from './runtime/semaphore.js';
export type { Device, ExecutionDevice, SessionOptions } from './runtime/device.js';

export { ClipAgiqaError, InputError, BundleError, DeviceError, InferenceError, UsageError, isClipAgiqaError, isUsageError } from './errors.js';
export type { ErrorCode, ErrorJSON } from './errors.js';

export { compileSchema } from './validation.js';
export type { ValidationResult } from './validation.js';
export { modelBundleSchema } from './generated/model-bundle.js';
export type { ModelBundleManifest } from './generated/model-bundle.js';
export { scoreRecordSchema } from './generated/score-record.js';
export type { ScoreRecord } from './generated/score-record.js';
