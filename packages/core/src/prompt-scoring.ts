import type { Bundle } from './bundle/load.js';
import { UsageError } from './errors.js';
import { createClipScoreHead, type ClipScoreScale, type PromptHead } from './heads/clipscore.js';
import type { ExecutionDevice } from './runtime/device.js';
import { PromptEncoder, type TextStats } from './text/prompt-encoder.js';

export interface PromptScoringOptions {
  device: ExecutionDevice;
  threads?: number | undefined;
  nativeLogs?: boolean | undefined;
  batchSize: number;
  maxWaitMs: number;
  textCacheSize?: number | undefined;
  clipScore?: ClipScoreScale | number | undefined;
  onWarning: (message: string) => void;
}

/** The heads that read prompts, and the text tower that feeds them; none on a bundle without a text tower. */
export interface PromptScoring {
  readonly heads: readonly PromptHead[];
  /** The prompt's text embedding (null on a bundle without a text tower: it has no prompt heads). */
  embed(prompt: string): Promise<Float32Array> | null;
  /** Every prompt head's score of an image embedding against its prompt's text embedding. */
  score(image: Float32Array, text: Float32Array): Record<string, number>;
  readonly stats: TextStats;
  close(): Promise<void>;
}

export function promptScoring(bundle: Bundle, o: PromptScoringOptions): PromptScoring {
  const te = bundle.manifest.text_encoder;
  const cacheSize = o.textCacheSize ?? 1024;
  if (!(Number.isInteger(cacheSize) && cacheSize >= 0)) throw new UsageError('INVALID_ARGUMENT', `textCacheSize must be a whole number >= 0, got ${cacheSize}`);
  // Beside zero-shot CLIPScore, the bundle's trained prompt heads (it has them only with a text tower).
  const heads = te ? [createClipScoreHead(o.clipScore), ...bundle.promptHeads] : [];
  const clash = heads.find((h, i) => bundle.heads.some((b) => b.name === h.name) || heads.findIndex((other) => other.name === h.name) !== i);
  if (clash) throw new UsageError('INVALID_ARGUMENT', `the bundle already has a head named ${clash.name}`);
  const encoder = te && new PromptEncoder(bundle.dir, te, {
    session: { device: o.device, threads: o.threads, nativeLogs: o.nativeLogs },
    batchSize: o.batchSize, maxWaitMs: o.maxWaitMs, cacheSize, onWarning: o.onWarning,
  });
  let warned = false;
  return {
    heads,
    embed(prompt) {
      if (encoder) return encoder.embed(prompt);
      if (!warned) o.onWarning(`the model ${bundle.manifest.name} has no text tower: prompts are not scored`);
      warned = true;
      return null;
    },
    score: (image, text) => Object.fromEntries(heads.map((h) => [h.name, h.scorePair(image, text)])),
    get stats() {
      return encoder ? { ...encoder.stats } : { texts: 0, textBatches: 0, textMs: 0, textCacheHits: 0 };
    },
    close: async () => encoder?.close(),
  };
}
