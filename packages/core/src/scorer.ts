import { loadBundle, type Bundle, type Precision } from './bundle/load.js';
import type { HubOptions } from './bundle/import/hub.js';
import { resolveModel } from './bundle/resolve.js';
import { ClipAgiqaError, InferenceError, InputError, UsageError } from './errors.js';
import type { Head, HeadProvenance } from './heads/head.js';
import { inputId, inputSource, type ImageInput } from './image/input.js';
import {
  clipPixels, decodeRgb, DEFAULT_LIMITS, normaliseInto, preprocessConfig, type DecodeLimits, type PreprocessConfig, type RgbImage,
} from './image/preprocess.js';
import { MicroBatcher } from './runtime/batcher.js';
import type { Device, ExecutionDevice } from './runtime/device.js';
import { modelArgument } from './model-argument.js';
import { ImageTower } from './runtime/image-tower.js';
import { Semaphore } from './runtime/semaphore.js';
import { firstNonFinite } from './util/finite.js';
import {
  filterRanking, rankOutcomes, validateFilterPolicy, type BestOfResult, type FilterPolicy, type FilterResult, type Ranking,
  type ScoreFailure, type ScoreOutcome, type ScoreResult,
} from './results.js';

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
  /** Told when a cached `hf:` model stands in for a hub that failed (default: a process warning). */
  onWarning?: HubOptions['onWarning'];
}

/** Options of one scoring call. */
export interface ScoreOptions {
  /** Aborting stops images not yet started and rejects (or ends the stream) with the signal's reason. */
  signal?: AbortSignal;
  /** After each image, in completion order: how many are done (failed ones included) of how many. */
  onProgress?: (progress: { done: number; total: number; failed: number; outcome: ScoreOutcome }) => void;
}

export interface HeadInfo {
  name: string;
  kind: string;
  scoreRange: readonly [number, number];
  higherIsBetter: boolean;
  trained: boolean;
  provenance: HeadProvenance;
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
 * headMs: heads).
 */
export interface ScorerStats {
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
  score(input: ImageInput): Promise<ScoreResult>;
  /** Scores many images; a bad image yields a ScoreFailure in its place and fails nothing else. */
  score(inputs: readonly ImageInput[], options?: ScoreOptions): Promise<ScoreOutcome[]>;
  /**
   * Scores images as they come (an array, or any iterable or async iterable, read lazily) and yields each
   * outcome as soon as it is ready, in completion order; `index` is its position in the input. Breaking
   * out of the loop stops reading inputs.
   */
  scoreStream(inputs: Iterable<ImageInput> | AsyncIterable<ImageInput>, options?: Pick<ScoreOptions, 'signal'>): AsyncIterable<ScoreOutcome>;
  /** Image embeddings (the tower's output, before normalisation), one per input. */
  embed(input: ImageInput): Promise<Float32Array>;
  /**
   * Decodes an image as scoring does, before the resize: EXIF orientation applied, alpha flattened onto the
   * bundle's background, this scorer's decode limits enforced. For callers that crop or tile images themselves.
   */
  decode(input: ImageInput): Promise<RgbImage>;
  /** Scores `count` embeddings ([count, embedDim], as `embed` returns them) with one head (default: the first). */
  scoreEmbeddings(embeds: Float32Array, count: number, head?: string): number[];
  rank(inputs: readonly ImageInput[], options?: { head?: string }): Promise<Ranking>;
  filter(inputs: readonly ImageInput[], policy: FilterPolicy): Promise<FilterResult>;
  bestOf(inputs: readonly ImageInput[], options?: { head?: string }): Promise<BestOfResult>;
  /** Cumulative work done so far, by stage, for profiling. */
  stats(): ScorerStats;
  /** Waits for work in flight, then frees the session. Later calls fail with SCORER_CLOSED. */
  close(): Promise<void>;
}

function assertPositiveInt(name: string, value: number | undefined): void {
  if (value !== undefined && !(Number.isInteger(value) && value > 0)) {
    throw new UsageError('INVALID_ARGUMENT', `${name} must be a positive integer, got ${value}`);
  }
}

function headInfo(h: Head): HeadInfo {
  return { name: h.name, kind: h.kind, scoreRange: h.scoreRange, higherIsBetter: h.higherIsBetter, trained: h.trained, provenance: h.provenance };
}

export async function createScorer(options: ScorerOptions): Promise<Scorer> {
  const model = modelArgument(options);
  assertPositiveInt('batchSize', options.batchSize);
  assertPositiveInt('concurrency', options.concurrency);
  const maxWaitMs = options.maxWaitMs ?? 0;
  if (!(maxWaitMs >= 0)) throw new UsageError('INVALID_ARGUMENT', `maxWaitMs must be >= 0, got ${maxWaitMs}`);
  const limits: DecodeLimits = { ...DEFAULT_LIMITS, ...options.limits };
  const bundle = typeof model === 'string'
    ? await loadBundle(await resolveModel(model, {
      cacheDir: options.cacheDir, hub: { onProgress: options.onDownloadProgress, onWarning: options.onWarning },
      ...(options.onDownloadProgress ? { onProgress: options.onDownloadProgress } : {}),
    }), { verifyChecksums: options.verifyChecksums, ...(options.cacheDir ? { cacheDir: options.cacheDir } : {}) })
    : model;
  const precision = options.precision ?? 'fp32';
  const manifest = bundle.manifest;
  const cfg = preprocessConfig(manifest.preprocess, options.resampler);
  const towerPath = bundle.imageEncoderPath(precision);
  const tower = await ImageTower.open(towerPath, { input: manifest.image_encoder.input, output: manifest.image_encoder.output, perImage: bundle.runsPerImage(precision) },
    cfg.size, manifest.backbone.embed_dim, { device: options.device, threads: options.threads, nativeLogs: options.nativeLogs });
  const device = tower.device;
  const batchSize = options.batchSize ?? (device === 'cpu' ? 8 : 16);
  const concurrency = options.concurrency ?? 2 * batchSize;
  const plane = 3 * cfg.size * cfg.size;
  const dim = manifest.backbone.embed_dim;
  const heads = bundle.heads;

  const stats: ScorerStats = { images: 0, batches: 0, decodeMs: 0, packMs: 0, towerMs: 0, headMs: 0 };
  const batcher = new MicroBatcher<Uint8Array, Float32Array>(async (items) => {
    const packStart = performance.now();
    const pixels = new Float32Array(items.length * plane);
    items.forEach((rgb, i) => normaliseInto(rgb, cfg, pixels, i * plane));
    stats.packMs += performance.now() - packStart;
    const { embeds, runMs } = await tower.embed(pixels, items.length);
    stats.towerMs += runMs;
    stats.batches++;
    stats.images += items.length;
    return items.map((_, i) => embeds.subarray(i * dim, (i + 1) * dim));
  }, batchSize, maxWaitMs);
  const slots = new Semaphore(concurrency);
  const inFlight = new Set<Promise<unknown>>();
  let closed = false;

  function embedOne(input: ImageInput, index: number, signal?: AbortSignal): Promise<Float32Array> {
    if (closed) return Promise.reject(new UsageError('SCORER_CLOSED', 'the scorer is closed'));
    const id = inputId(input, index);
    const work = slots.run(async () => {
      signal?.throwIfAborted();
      const decodeStart = performance.now();
      const rgb = await clipPixels(inputSource(input, id), id, cfg, limits);
      stats.decodeMs += performance.now() - decodeStart;
      const embeds = await batcher.push(rgb);
      if (firstNonFinite(embeds) >= 0) throw new InferenceError('NON_FINITE_OUTPUT', 'the image tower gave NaN or Infinity for this image', { input: id });
      return embeds;
    });
    inFlight.add(work);
    void work.catch(() => undefined).finally(() => inFlight.delete(work));
    return work;
  }

  async function scoreOne(input: ImageInput, index: number, signal?: AbortSignal): Promise<ScoreResult> {
    const embeds = await embedOne(input, index, signal);
    const headStart = performance.now();
    const scores: Record<string, number> = {};
    for (const head of heads) scores[head.name] = head.score(embeds, 1)[0]!;
    stats.headMs += performance.now() - headStart;
    const bad = Object.entries(scores).find(([, v]) => !Number.isFinite(v));
    if (bad) throw new InferenceError('NON_FINITE_OUTPUT', `head ${bad[0]} scored ${bad[1]}`, { input: inputId(input, index) });
    return { id: inputId(input, index), index, scores };
  }

  /** One image's outcome: its scores, or the failure that concerns it alone (a closed scorer or an abort throws). */
  function outcomeOf(input: ImageInput, index: number, signal?: AbortSignal): Promise<ScoreOutcome> {
    return scoreOne(input, index, signal).catch((e: unknown): ScoreFailure => {
      if ((e instanceof UsageError && e.code === 'SCORER_CLOSED') || (signal?.aborted && e === signal.reason)) throw e;
      const error = e instanceof ClipAgiqaError ? e
        : new InputError('CORRUPT_IMAGE', (e as Error).message ?? String(e), { input: inputId(input, index), cause: e });
      return { id: inputId(input, index), index, error };
    });
  }

  async function scoreAll(inputs: readonly ImageInput[], o: ScoreOptions = {}): Promise<ScoreOutcome[]> {
    if (!Array.isArray(inputs)) throw new UsageError('INVALID_ARGUMENT', 'expected an array of images');
    o.signal?.throwIfAborted();
    let done = 0;
    let failed = 0;
    const all = Promise.all(inputs.map((input, index) => outcomeOf(input, index, o.signal).then((outcome) => {
      done++;
      if ('error' in outcome) failed++;
      o.onProgress?.({ done, total: inputs.length, failed, outcome });
      return outcome;
    })));
    if (!o.signal) return all;
    // Rejects as soon as the signal fires; images already running finish in the background, the rest never start.
    const signal = o.signal;
    void all.catch(() => undefined);
    let onAbort!: () => void;
    const aborted = new Promise<never>((_, reject) => {
      onAbort = () => reject(signal.reason);
      signal.addEventListener('abort', onAbort, { once: true });
    });
    try {
      return await Promise.race([all, aborted]);
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }

  async function* scoreStream(inputs: Iterable<ImageInput> | AsyncIterable<ImageInput>, o: Pick<ScoreOptions, 'signal'> = {}): AsyncGenerator<ScoreOutcome> {
    if (closed) throw new UsageError('SCORER_CLOSED', 'the scorer is closed');
    const source = Symbol.asyncIterator in inputs ? inputs[Symbol.asyncIterator]() : (inputs as Iterable<ImageInput>)[Symbol.iterator]();
    const running = new Map<number, Promise<{ index: number; outcome: ScoreOutcome }>>();
    let index = 0;
    let exhausted = false;
    try {
      for (;;) {
        // Keep the decode window full (more would only queue), then hand out whichever finishes first.
        while (!exhausted && running.size < concurrency) {
          o.signal?.throwIfAborted();
          const next = await source.next();
          if (next.done) {
            exhausted = true;
            break;
          }
          const i = index++;
          running.set(i, outcomeOf(next.value, i, o.signal).then((outcome) => ({ index: i, outcome })));
        }
        if (running.size === 0) return;
        const first = await Promise.race(running.values());
        running.delete(first.index);
        yield first.outcome;
      }
    } finally {
      for (const p of running.values()) void p.catch(() => undefined);
      if (!exhausted) await source.return?.();
    }
  }

  function rankingHead(name: string | undefined): Head {
    const head = name === undefined ? heads[0] : heads.find((h) => h.name === name);
    if (!head) throw new UsageError('UNKNOWN_HEAD', `no head named ${name} (heads: ${heads.map((h) => h.name).join(', ')})`);
    return head;
  }

  async function rank(inputs: readonly ImageInput[], opts: { head?: string } = {}): Promise<Ranking> {
    const head = rankingHead(opts.head);
    return rankOutcomes(await scoreAll(inputs), head.name, head.higherIsBetter);
  }

  const scorer: Scorer = {
    model: {
      name: manifest.name,
      dir: bundle.dir,
      manifestSha256: bundle.manifestSha256,
      untrained: bundle.untrained,
      precision,
      embedDim: dim,
      imageSize: cfg.size,
      heads: heads.map(headInfo),
    },
    device,
    bundle,
    score: ((input: ImageInput | readonly ImageInput[], options?: ScoreOptions) =>
      Array.isArray(input) ? scoreAll(input, options) : scoreOne(input as ImageInput, 0)) as Scorer['score'],
    scoreStream,
    embed: async (input) => (await embedOne(input, 0)).slice(),
    decode(input) {
      const id = inputId(input, 0);
      return decodeRgb(inputSource(input, id), id, cfg, limits);
    },
    scoreEmbeddings(embeds, count, name) {
      const head = rankingHead(name);
      if (embeds.length !== count * dim) throw new UsageError('SHAPE_MISMATCH', `${embeds.length} values are not ${count} embeddings of ${dim}`);
      return head.score(embeds, count);
    },
    stats: () => ({ ...stats }),
    rank,
    async filter(inputs, policy) {
      validateFilterPolicy(policy);
      const head = rankingHead(policy.head);
      return filterRanking(await rank(inputs, { head: head.name }), policy, head.higherIsBetter);
    },
    async bestOf(inputs, opts = {}) {
      const ranking = await rank(inputs, opts);
      return { ...ranking, best: ranking.ranked[0] ?? null };
    },
    async close() {
      if (closed) return;
      closed = true;
      await Promise.allSettled([...inFlight]);
      await batcher.idle();
      await tower.close();
    },
  };
  return scorer;
}

