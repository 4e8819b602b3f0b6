import type { Bundle, Precision } from './bundle/load.js';
import type { HubOptions } from './bundle/import/hub.js';
import type { ClipScoreScale } from './heads/clipscore.js';
import type { HeadProvenance } from './heads/head.js';
import type { ImageInput } from './image/input.js';
import type { DecodeLimits, PreprocessConfig, RgbImage } from './image/preprocess.js';
import type { Device, ExecutionDevice } from './runtime/device.js';
import type { TextStats } from './text/prompt-encoder.js';
import type { BestOfResult, FilterPolicy, FilterResult, Ranking, ScoreOutcome, ScoreResult } from './results.js';

export interface ScorerOptions {
  /**
   * A bundle folder (path or file: URL), an http(s) URL of a published bundle (downloaded once, checksums
   * verified), `hf:OWNER/NAME[@REVISION]` (a CLIP in the transformers.js layout on the Hugging Face hub,
   * imported into the cache on first use with its zero-shot heads), or a loaded bundle.
   */
  model: string | URL | Bundle;
  /** Execution device (default cpu). `auto` picks the best that starts; an explicit device never falls back. */
  device?: Device;
  /** Intra-op threads of the CPU provider. */
  threads?: number;
  /** Let ONNX Runtime (and the GPU libraries it loads) print their own warnings and errors (default false). */
  nativeLogs?: boolean;
  /** Most images per image-tower run (default 8 on CPU, 16 on GPUs; see the benchmark in the README). */
  batchSize?: number;
  /** How long an idle scorer waits to fill a batch before running it (default 0: never waits). */
  maxWaitMs?: number;
  /** Images decoded or queued at once (default 2 x batchSize); bounds memory however many inputs are given. */
  concurrency?: number;
  /** Image tower precision, from those the bundle ships (default fp32). */
  precision?: Precision;
  limits?: Partial<DecodeLimits>;
  /** Bicubic resize implementation: see PreprocessConfig.resampler (default pil, bit-exact). */
  resampler?: PreprocessConfig['resampler'];
  /** Check every bundle file's sha256 at load (default true; files hashed before and unchanged since are checked by a stat). */
  verifyChecksums?: boolean;
  /** Where downloaded and imported bundles, and records of verified ones, are kept (default $CLIP_AGIQA_CACHE or ~/.cache/clip-agiqa). */
  cacheDir?: string;
  /**
   * Progress of a download on first use: a published bundle's URL (received and total over the whole
   * bundle) or an `hf:` import (per file; total null when the hub does not say).
   */
  onDownloadProgress?: HubOptions['onProgress'];
  /**
   * Told when a cached `hf:` model stands in for a hub that failed, when CLIP's 77-token context cuts a
   * prompt, and when prompts are given to a bundle without a text tower (default: a process warning).
   */
  onWarning?: HubOptions['onWarning'];
  /** Prompt embeddings kept for reuse, least recently used dropped first (default 1024). */
  textCacheSize?: number;
  /**
   * Weight w of the `clipscore` head, w * max(cos, 0): `hessel` (2.5, Hessel et al. 2021, the default),
   * `torchmetrics` (100, torchmetrics' CLIPScore) or a positive number.
   */
  clipScore?: ClipScoreScale | number;
}

/** The prompt a call's images were generated from, for heads that score alignment with it. */
export interface PromptOption {
  /** Applies to every input of the call that carries no `prompt` of its own (`{ image, prompt }`). */
  prompt?: string;
}

/** Options of one scoring call. */
export interface ScoreOptions extends PromptOption {
  /** A head every input must be scored by: an input it cannot score (a prompt head, no prompt) fails with PROMPT_REQUIRED. */
  requireHead?: string;
  /** Aborting stops images not yet started and rejects (or ends the stream) with the signal's reason. */
  signal?: AbortSignal;
  /** After each image, in completion order: how many are done (failed ones included) of how many. */
  onProgress?: (progress: { done: number; total: number; failed: number; outcome: ScoreOutcome }) => void;
}

/** Which head ranks (default: the first) and the prompt of the inputs that carry none. */
export interface RankOptions extends PromptOption {
  head?: string;
}

export interface HeadInfo {
  name: string;
  kind: string;
  scoreRange: readonly [number, number];
  higherIsBetter: boolean;
  trained: boolean;
  provenance: HeadProvenance;
  /** Scores an image against its prompt: an input without one gets no score from it (PROMPT_REQUIRED where asked for). */
  needsPrompt: boolean;
}

export interface ModelInfo {
  name: string;
  dir: string;
  manifestSha256: string;
  /** True when the tower or a head has random weights: scores then mean nothing. */
  untrained: boolean;
  precision: Precision;
  /** Length of the image tower's embeddings. */
  embedDim: number;
  /** Side of the square the tower sees (after the shortest-edge resize and centre crop). */
  imageSize: number;
  heads: HeadInfo[];
}

/**
 * Time spent per stage, summed over images (decodeMs: decode + orient + resize + crop, per image and
 * concurrent with other stages; packMs: normalising into the batch tensor; towerMs: image-tower runs;
 * headMs: heads; texts, textBatches, textMs: text-tower work; textCacheHits: prompts answered from the cache).
 */
export interface ScorerStats extends TextStats {
  images: number;
  batches: number;
  decodeMs: number;
  packMs: number;
  towerMs: number;
  headMs: number;
}

export interface Scorer {
  readonly model: ModelInfo;
  /** The device inference runs on (what `auto` picked). */
  readonly device: ExecutionDevice;
  readonly bundle: Bundle;
  /** Scores one image; throws an InputError if it cannot be scored. */
  score(input: ImageInput, options?: PromptOption): Promise<ScoreResult>;
  /** Scores many images; a bad image yields a ScoreFailure in its place and fails nothing else. */
  score(inputs: readonly ImageInput[], options?: ScoreOptions): Promise<ScoreOutcome[]>;
  /**
   * Scores images as they come (an array, or any iterable or async iterable, read lazily) and yields each
   * outcome as soon as it is ready, in completion order; `index` is its position in the input. Breaking
   * out of the loop stops reading inputs.
   */
  scoreStream(inputs: Iterable<ImageInput> | AsyncIterable<ImageInput>, options?: Pick<ScoreOptions, 'signal' | 'prompt'>): AsyncIterable<ScoreOutcome>;
  /** Image embeddings (the tower's output, before normalisation), one per input. */
  embed(input: ImageInput): Promise<Float32Array>;
  /** A prompt's text embedding (the text tower's output, before normalisation); cached like scoring's. */
  embedText(prompt: string): Promise<Float32Array>;
  /**
   * Decodes an image as scoring does, before the resize: EXIF orientation applied, alpha flattened onto the
   * bundle's background, this scorer's decode limits enforced. For callers that crop or tile images themselves.
   */
  decode(input: ImageInput): Promise<RgbImage>;
  /** Scores `count` embeddings ([count, embedDim], as `embed` returns them) with one head (default: the first). */
  scoreEmbeddings(embeds: Float32Array, count: number, head?: string): number[];
  rank(inputs: readonly ImageInput[], options?: RankOptions): Promise<Ranking>;
  filter(inputs: readonly ImageInput[], policy: FilterPolicy, options?: PromptOption): Promise<FilterResult>;
  bestOf(inputs: readonly ImageInput[], options?: RankOptions): Promise<BestOfResult>;
  /** Cumulative work done so far, by stage, for profiling. */
  stats(): ScorerStats;
  /** Waits for work in flight, then frees the session. Later calls fail with SCORER_CLOSED. */
  close(): Promise<void>;
}
