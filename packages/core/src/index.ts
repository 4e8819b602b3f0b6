// The public API of @clip-agiqa/core: what an application needs to score, rank and filter images.
// Building blocks shared by the other clip-agiqa packages live in '@clip-agiqa/core/internal' and may
// change in any release.

// Scoring
export { createScorer } from './scorer.js';
export type { Scorer, ScorerOptions, ScoreOptions, ScorerStats, ModelInfo, HeadInfo, PromptOption, RankOptions } from './scorer.js';

// Decisions: the one way to rank and decide which candidates pass and which wins, under one Policy,
// honouring each head's direction. A wire policy (JSON) is read and checked by fromWirePolicy, the
// same check the webhook service and the ComfyUI bridge make.
export { decide } from './decision.js';
export type { Combination, Decidable, Decision, HeadDirection, Policy } from './decision.js';
export { decideWire, fromWirePolicy } from './policy.js';
export type { PolicyMode, ReadPolicy, WireDecision } from './policy.js';
export type { WireError, WirePolicy } from './generated/defs.js';

// Results: one outcome per input
export { isFailure } from './results.js';
export type {
  ScoreResult, ScoreFailure, ScoreOutcome, RankedResult, Ranking, FilterPolicy, FilterResult, BestOfResult,
} from './results.js';

// Score records: the JSON a scored image is written as (CLI output, sidecars, image metadata)
export { toScoreRecord, modelStamp } from './records/score-record.js';
export type { RecordExtras, ModelStamp } from './records/score-record.js';
export { withScoreMetadata, MetadataError, METADATA_KEY, XMP_NAMESPACE } from './records/metadata.js';
export { scoreRecordSchema } from './generated/score-record.js';
export { a1111Prompt, comfyGraphPrompt, embeddedPrompt, embeddedPromptOfFile } from './records/embedded-prompt.js';
export type { EmbeddedPrompt } from './records/embedded-prompt.js';
export type { ScoreRecord } from './generated/score-record.js';

// Errors: every error the SDK throws on purpose has a name and a stable code
export {
  ClipAgiqaError, InputError, BundleError, ImportError, DeviceError, InferenceError, UsageError, PolicyError, isClipAgiqaError, isUsageError,
} from './errors.js';
export type { ErrorCode, ErrorJSON, PolicyErrorCode } from './errors.js';

// Model bundles: load a folder, fetch a published one, or use the bundled untrained demo
export { loadBundle, PRECISIONS, SUPPORTED_FORMAT_VERSIONS } from './bundle/load.js';
export type { Bundle, LoadBundleOptions, Precision } from './bundle/load.js';
export { downloadBundle } from './bundle/download.js';
export type { DownloadOptions, DownloadProgress } from './bundle/download.js';
export { resolveModel, defaultCacheDir } from './bundle/resolve.js';
export { DEMO_MODEL_DIR, untrainedWarning } from './demo.js';
export type { ResolveOptions } from './bundle/resolve.js';

// The bundle manifest's schema (importing a CLIP into a bundle: @clip-agiqa/core/import)
export { modelBundleSchema } from './generated/model-bundle.js';
export type { ModelBundleManifest } from './generated/model-bundle.js';

// Heads: add a head kind of your own, loadable from any bundle whose manifest names it
export { registerHeadKind, headKinds } from './heads/registry.js';
export type { Head, HeadEntry, HeadFactory, HeadProvenance } from './heads/head.js';
export { headProvenance } from './heads/head.js';
// Prompt heads: text-image alignment from the bundle's text tower (CLIPScore, Hessel et al. 2021)
export { CLIPSCORE_WEIGHTS, createClipScoreHead } from './heads/clipscore.js';
export type { ClipScoreScale, PromptHead } from './heads/clipscore.js';
export type { Tensor } from './bundle/safetensors.js';

// Inputs and decoding
export type { ImageInput, ImageSource, LabelledImage, RawPixels } from './image/input.js';
export type { DecodeLimits, Resampler, RgbImage } from './image/preprocess.js';
export { DEFAULT_LIMITS, RESAMPLERS } from './image/preprocess.js';

// Devices
export { DEVICES, compiledDevices } from './runtime/device.js';
export type { Device, ExecutionDevice } from './runtime/device.js';
