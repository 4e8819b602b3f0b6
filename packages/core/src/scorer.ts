import { loadBundle } from './bundle/load.js';
import { resolveModel } from './bundle/resolve.js';
import { ClipAgiqaError, InferenceError, InputError, UsageError } from './errors.js';
import type { PromptHead } from './heads/clipscore.js';
import type { Head } from './heads/head.js';
import { inputId, inputPrompt, inputSource, type ImageInput } from './image/input.js';
import { clipPixels, decodeRgb, DEFAULT_LIMITS, normaliseInto, preprocessConfig, type DecodeLimits } from './image/preprocess.js';
import { MicroBatcher } from './runtime/batcher.js';
import { modelArgument } from './model-argument.js';
import { promptScoring } from './prompt-scoring.js';
import { ImageTower } from './runtime/image-tower.js';
import { Semaphore } from './runtime/semaphore.js';
import { firstNonFinite } from './util/finite.js';
import { filterRanking, rankOutcomes, validateFilterPolicy, type Ranking, type ScoreFailure, type ScoreOutcome, type ScoreResult } from './results.js';
import type { HeadInfo, RankOptions, ScoreOptions, Scorer, ScorerOptions, ScorerStats } from './scorer-api.js';

export type { HeadInfo, ModelInfo, PromptOption, RankOptions, ScoreOptions, Scorer, ScorerOptions, ScorerStats } from './scorer-api.js';

function assertPositiveInt(name: string, value: number | undefined): void {
  if (value !== undefined && !(Number.isInteger(value) && value > 0)) {
    throw new UsageError('INVALID_ARGUMENT', `${name} must be a positive integer, got ${value}`);
  }
}

function headInfo(h: Head | PromptHead): HeadInfo {
  return {
    name: h.name, kind: h.kind, scoreRange: h.scoreRange, higherIsBetter: h.higherIsBetter, trained: h.trained, provenance: h.provenance,
    needsPrompt: 'scorePair' in h,
  };
}

const warnByDefault = (m: string) => process.emitWarning(m, 'ClipAgiqaWarning');

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

  const prompts = promptScoring(bundle, {
    device, threads: options.threads, nativeLogs: options.nativeLogs, batchSize, maxWaitMs,
    textCacheSize: options.textCacheSize, clipScore: options.clipScore, onWarning: options.onWarning ?? warnByDefault,
  });
  const stats: Omit<ScorerStats, keyof typeof prompts.stats> = { images: 0, batches: 0, decodeMs: 0, packMs: 0, towerMs: 0, headMs: 0 };
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

  /**
   * One image's scores from every head; with a prompt, the prompt heads' too (its text embedding computed
   * beside the image's). `requireHead` names a head the caller ranks by: an input it cannot score fails.
   */
  async function scoreOne(input: ImageInput, index: number, o: { signal?: AbortSignal; prompt?: string; requireHead?: string } = {}): Promise<ScoreResult> {
    const id = inputId(input, index);
    const prompt = inputPrompt(input, id, o.prompt);
    if (prompt === undefined && prompts.heads.some((h) => h.name === o.requireHead)) {
      throw new InputError('PROMPT_REQUIRED', `head ${o.requireHead} scores an image against its prompt, and this image has none`, { input: id });
    }
    const text = prompt === undefined ? null : prompts.embed(prompt);
    const [embeds, textEmbeds] = await Promise.all([embedOne(input, index, o.signal), text]);
    const headStart = performance.now();
    const scores: Record<string, number> = {};
    for (const head of heads) scores[head.name] = head.score(embeds, 1)[0]!;
    if (textEmbeds) Object.assign(scores, prompts.score(embeds, textEmbeds));
    stats.headMs += performance.now() - headStart;
    const bad = Object.entries(scores).find(([, v]) => !Number.isFinite(v));
    if (bad) throw new InferenceError('NON_FINITE_OUTPUT', `head ${bad[0]} scored ${bad[1]}`, { input: id });
    return { id, index, scores, ...(textEmbeds ? { prompt } : {}) };
  }

  /** One image's outcome: its scores, or the failure that concerns it alone (a closed scorer or an abort throws). */
  function outcomeOf(input: ImageInput, index: number, o: { signal?: AbortSignal; prompt?: string; requireHead?: string }): Promise<ScoreOutcome> {
    const signal = o.signal;
    return scoreOne(input, index, o).catch((e: unknown): ScoreFailure => {
      if ((e instanceof UsageError && e.code === 'SCORER_CLOSED') || (signal?.aborted && e === signal.reason)) throw e;
      const error = e instanceof ClipAgiqaError ? e
        : new InputError('CORRUPT_IMAGE', (e as Error).message ?? String(e), { input: inputId(input, index), cause: e });
      return { id: inputId(input, index), index, error };
    });
  }

  async function scoreAll(inputs: readonly ImageInput[], o: ScoreOptions = {}): Promise<ScoreOutcome[]> {
    if (!Array.isArray(inputs)) throw new UsageError('INVALID_ARGUMENT', 'expected an array of images');
    if (o.requireHead !== undefined) rankingHead(o.requireHead);
    o.signal?.throwIfAborted();
    let done = 0;
    let failed = 0;
    const all = Promise.all(inputs.map((input, index) => outcomeOf(input, index, o).then((outcome) => {
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

  async function* scoreStream(inputs: Iterable<ImageInput> | AsyncIterable<ImageInput>, o: Pick<ScoreOptions, 'signal' | 'prompt'> = {}): AsyncGenerator<ScoreOutcome> {
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
          running.set(i, outcomeOf(next.value, i, o).then((outcome) => ({ index: i, outcome })));
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

  const allHeads: readonly (Head | PromptHead)[] = [...heads, ...prompts.heads];
  function rankingHead(name: string | undefined): Head | PromptHead {
    const head = name === undefined ? heads[0] : allHeads.find((h) => h.name === name);
    if (!head) throw new UsageError('UNKNOWN_HEAD', `no head named ${name} (heads: ${allHeads.map((h) => h.name).join(', ')})`);
    return head;
  }

  async function rank(inputs: readonly ImageInput[], opts: RankOptions = {}): Promise<Ranking> {
    const head = rankingHead(opts.head);
    return rankOutcomes(await scoreAll(inputs, { ...(opts.prompt === undefined ? {} : { prompt: opts.prompt }), requireHead: head.name }), head.name, head.higherIsBetter);
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
      heads: allHeads.map(headInfo),
    },
    device,
    bundle,
    score: ((input: ImageInput | readonly ImageInput[], options?: ScoreOptions) =>
      Array.isArray(input) ? scoreAll(input, options) : scoreOne(input as ImageInput, 0, { ...(options?.prompt === undefined ? {} : { prompt: options.prompt }) })) as Scorer['score'],
    scoreStream,
    embed: async (input) => (await embedOne(input, 0)).slice(),
    async embedText(prompt) {
      if (closed) throw new UsageError('SCORER_CLOSED', 'the scorer is closed');
      if (typeof prompt !== 'string') throw new UsageError('INVALID_ARGUMENT', 'a prompt must be a string');
      const text = prompts.embed(prompt);
      if (!text) throw new UsageError('INVALID_ARGUMENT', `the model ${manifest.name} has no text tower`);
      return (await text).slice();
    },
    decode(input) {
      const id = inputId(input, 0);
      return decodeRgb(inputSource(input, id), id, cfg, limits);
    },
    scoreEmbeddings(embeds, count, name) {
      const head = rankingHead(name);
      if ('scorePair' in head) throw new UsageError('PROMPT_REQUIRED', `head ${head.name} scores an image against its prompt: use score() with a prompt`);
      if (embeds.length !== count * dim) throw new UsageError('SHAPE_MISMATCH', `${embeds.length} values are not ${count} embeddings of ${dim}`);
      return head.score(embeds, count);
    },
    stats: () => ({ ...stats, ...prompts.stats }),
    rank,
    async filter(inputs, policy, opts = {}) {
      validateFilterPolicy(policy);
      const head = rankingHead(policy.head);
      return filterRanking(await rank(inputs, { ...opts, head: head.name }), policy, head.higherIsBetter);
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
      await prompts.close();
      await tower.close();
    },
  };
  return scorer;
}

