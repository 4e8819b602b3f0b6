import { InferenceError } from '../errors.js';
import { MicroBatcher } from '../runtime/batcher.js';
import type { SessionOptions } from '../runtime/device.js';
import { firstNonFinite } from '../util/finite.js';
import { TextTower, type TextEncoderEntry } from './text-tower.js';

/** Work the text tower did: texts it encoded, in how many runs, how long, and prompts answered from the cache. */
export interface TextStats {
  texts: number;
  textBatches: number;
  textMs: number;
  textCacheHits: number;
}

export interface PromptEncoderOptions {
  session: SessionOptions;
  /** Most prompts per text-tower run. */
  batchSize: number;
  maxWaitMs: number;
  /** Most prompt embeddings kept (least recently used go first). */
  cacheSize: number;
  /** Told once per prompt that CLIP's context cut. */
  onWarning: (message: string) => void;
}

const quote = (text: string) => JSON.stringify(text.length > 60 ? `${text.slice(0, 57)}...` : text);

/**
 * Prompt embeddings for scoring: the bundle's text tower opened on first use, prompts batched like images,
 * and each prompt's embedding kept in a bounded LRU cache, so N candidates of one prompt cost one text run.
 * Concurrent requests for the same prompt share one encoding.
 */
export class PromptEncoder {
  private tower: Promise<TextTower> | undefined;
  private readonly cache = new Map<string, Promise<Float32Array>>();
  private readonly batcher: MicroBatcher<string, Float32Array>;
  readonly stats: TextStats = { texts: 0, textBatches: 0, textMs: 0, textCacheHits: 0 };

  constructor(private readonly dir: string, private readonly entry: TextEncoderEntry, private readonly options: PromptEncoderOptions) {
    this.batcher = new MicroBatcher((texts) => this.run(texts), options.batchSize, options.maxWaitMs);
  }

  private open(): Promise<TextTower> {
    this.tower ??= TextTower.open(this.dir, this.entry, this.options.session);
    return this.tower;
  }

  private async run(texts: string[]): Promise<Float32Array[]> {
    const tower = await this.open();
    const start = performance.now();
    const { embeds, truncated } = await tower.encode(texts);
    this.stats.textMs += performance.now() - start;
    this.stats.textBatches++;
    this.stats.texts += texts.length;
    for (const t of truncated) {
      this.options.onWarning(`the prompt ${quote(texts[t.index]!)} has ${t.tokens} tokens with its start and end tokens; `
        + `CLIP reads ${t.contextLength}, so it was cut after the first ${t.contextLength - 2}`);
    }
    const dim = embeds.length / texts.length;
    return texts.map((_, i) => embeds.slice(i * dim, (i + 1) * dim));
  }

  /** The text tower's embedding of `prompt` (not normalised). */
  embed(prompt: string): Promise<Float32Array> {
    const cached = this.cache.get(prompt);
    if (cached) {
      this.stats.textCacheHits++;
      this.cache.delete(prompt);
      this.cache.set(prompt, cached);
      return cached;
    }
    const work = this.batcher.push(prompt).then((embeds) => {
      if (firstNonFinite(embeds) >= 0) throw new InferenceError('NON_FINITE_OUTPUT', `the text tower gave NaN or Infinity for the prompt ${quote(prompt)}`);
      return embeds;
    });
    this.cache.set(prompt, work);
    // A failed encoding is not kept: the next request tries again.
    work.catch(() => this.cache.get(prompt) === work && this.cache.delete(prompt));
    while (this.cache.size > this.options.cacheSize) this.cache.delete(this.cache.keys().next().value!);
    return work;
  }

  async close(): Promise<void> {
    await this.batcher.idle();
    if (this.tower) await (await this.tower.catch(() => undefined))?.close();
  }
}
