import { readFile } from 'node:fs/promises';

import { ClipAgiqaError } from '@clip-agiqa/core';
import { writeAtomically } from '@clip-agiqa/core/internal';

import type { MatmulBackend } from './linalg.js';
import { cloneParams, inputWidth, prepareInputs, type HeadModel, type Params } from '../heads/head-model.js';
import { mlpHeadModel, type MlpParams } from '../heads/mlp-head.js';
import { Rng } from '../rng.js';

/** The paper's recipe (the official code's defaults). */
export const PAPER_RECIPE = {
  epochs: 100, batchSize: 32, lr: 0.002, momentum: 0.9, weightDecay: 5e-4, warmupEpochs: 1, warmupLr: 1e-5, dropout: 0.5, hidden: 512,
} as const;
export type Recipe = { -readonly [K in keyof typeof PAPER_RECIPE]: number };

/** The generator of an epoch's shuffling and dropout masks, derived from the run's seed. */
export function epochRng(seed: number, epoch: number): Rng {
  return new Rng((seed * 1_000_003 + epoch * 7919) >>> 0);
}

/**
 * Learning rate of an epoch, as the official code's Dassl scheduler gives it: warm-up epochs at warmupLr,
 * then PyTorch's CosineAnnealingLR with T_max = epochs, started after the warm-up (so the last epoch's
 * rate is still above 0).
 */
export function learningRate(epoch: number, r: Recipe): number {
  if (epoch < r.warmupEpochs) return r.warmupLr;
  return 0.5 * r.lr * (1 + Math.cos((Math.PI * (epoch - r.warmupEpochs)) / r.epochs));
}

/**
 * The batches of an epoch from its shuffled order: full batches only, as the official loader (Dassl) drops
 * a last partial training batch whenever there is at least one full batch.
 */
export function epochBatches(order: readonly number[], batchSize: number): number[][] {
  const full = order.length >= batchSize ? order.length - (order.length % batchSize) : order.length;
  const batches: number[][] = [];
  for (let start = 0; start < full; start += batchSize) batches.push(order.slice(start, Math.min(start + batchSize, full)));
  return batches;
}

/**
 * Embeddings (the image tower's raw outputs) [N, D] and their MOS (for heads that read prompts, rows
 * [image || prompt text] of the model's inputWidth). With `views`, epoch e trains on
 * views[e % views.length] (fixed random crops standing in for fresh ones each epoch); else on `embeds`.
 */
export interface Split {
  embeds: Float32Array;
  views?: Float32Array[];
  targets: Float64Array;
}

export interface TrainOptions {
  model: HeadModel;
  train: Split;
  seed: number;
  backend: MatmulBackend;
  recipe?: Partial<Recipe>;
  /** Called after each epoch; may evaluate, log or stop (return false). */
  onEpoch?: (epoch: number, state: { params: Params; trainLoss: number; lr: number }) => Promise<boolean | void> | boolean | void;
  /** Save a checkpoint here after every epoch, and resume from it when it exists. */
  checkpoint?: string;
}

interface State {
  epoch: number;
  params: Params;
  velocity: Params;
}

interface CheckpointHeader {
  epoch: number;
  seed: number;
  kind: string;
  sizes: number[];
}

async function saveCheckpoint(path: string, s: State, seed: number, model: HeadModel): Promise<void> {
  const names = model.paramNames;
  const header: CheckpointHeader = { epoch: s.epoch, seed, kind: model.kind, sizes: names.map((n) => s.params[n]!.length) };
  const parts = [...names.map((n) => s.params[n]!), ...names.map((n) => s.velocity[n]!)];
  const json = Buffer.from(JSON.stringify(header));
  const size = Buffer.alloc(4);
  size.writeUInt32LE(json.length);
  await writeAtomically(path, Buffer.concat([size, json, ...parts.map((p) => Buffer.from(p.buffer, p.byteOffset, p.byteLength))]));
}

/** Training that diverged: the loss became NaN or infinite (a learning rate too high for the data's scale). */
export class DivergedError extends ClipAgiqaError<'TRAINING_DIVERGED'> {
  constructor(epoch: number, loss: number, lr: number) {
    super('TRAINING_DIVERGED', `the training loss became ${loss} in epoch ${epoch} (learning rate ${lr.toExponential(2)}): `
      + 'the learning rate is too high for this data, or its MOS values or embeddings hold extreme values');
  }
}

/** A checkpoint left by a different run (seed, head kind or parameter sizes) in the same place. */
export class CheckpointError extends ClipAgiqaError<'CHECKPOINT_MISMATCH'> {
  constructor(message: string) {
    super('CHECKPOINT_MISMATCH', message);
  }
}

async function loadCheckpoint(path: string, template: Params, seed: number, model: HeadModel): Promise<State | null> {
  const buf = await readFile(path).catch(() => null);
  if (!buf) return null;
  const n = buf.readUInt32LE(0);
  const header = JSON.parse(buf.toString('utf8', 4, 4 + n)) as CheckpointHeader;
  const sizes = model.paramNames.map((name) => template[name]!.length);
  if (header.seed !== seed || header.kind !== model.kind || header.sizes?.join() !== sizes.join()) {
    throw new CheckpointError(`checkpoint ${path} belongs to another run (seed ${header.seed}, ${header.kind} head, parameter sizes ${header.sizes})`);
  }
  let offset = 4 + n;
  const read = () => {
    const out: Params = {};
    for (const name of model.paramNames) {
      const bytes = template[name]!.byteLength;
      out[name] = new Float32Array(buf.buffer.slice(buf.byteOffset + offset, buf.byteOffset + offset + bytes));
      offset += bytes;
    }
    return out;
  };
  return { epoch: header.epoch, params: read(), velocity: read() };
}

/**
 * Trains a head with SGD (momentum, weight decay, PyTorch's update rule), MSE on raw MOS, the epoch
 * learning-rate schedule above and the recipe's dropout. Deterministic for a seed: initialisation,
 * shuffling and dropout masks draw from generators derived from it and the epoch, so a run resumed
 * from a checkpoint continues exactly as if it had not stopped.
 */
export async function trainHead(o: TrainOptions): Promise<Params> {
  const r: Recipe = { ...PAPER_RECIPE, ...o.recipe };
  const { model } = o;
  const dim = inputWidth(model);
  const n = o.train.targets.length;
  const sources = o.train.views?.length ? o.train.views : [o.train.embeds];
  const normalised = new Map<number, Float32Array>();
  const imagesFor = (epoch: number) => {
    const k = epoch % sources.length;
    if (!normalised.has(k)) normalised.set(k, prepareInputs(model, sources[k]!, n));
    return normalised.get(k)!;
  };
  const params = model.init(new Rng(o.seed));
  const velocity = cloneParams(params);
  for (const name of model.paramNames) velocity[name]!.fill(0);
  let state: State = { epoch: 0, params, velocity };
  if (o.checkpoint) state = (await loadCheckpoint(o.checkpoint, state.params, o.seed, model)) ?? state;

  for (let epoch = state.epoch; epoch < r.epochs; epoch++) {
    const lr = learningRate(epoch, r);
    const rng = epochRng(o.seed, epoch);
    const order = rng.permutation(n);
    const images = imagesFor(epoch);
    let lossSum = 0;
    let seen = 0;
    for (const idx of epochBatches(order, r.batchSize)) {
      const batch = new Float32Array(idx.length * dim);
      idx.forEach((i, k) => batch.set(images.subarray(i * dim, (i + 1) * dim), k * dim));
      const step = await model.lossAndGradients(state.params, batch, idx.map((i) => o.train.targets[i]!), o.backend,
        r.dropout > 0 ? { rate: r.dropout, rng } : undefined);
      lossSum += step.loss * idx.length;
      seen += idx.length;
      for (const name of model.paramNames) {
        const p = state.params[name]!;
        const v = state.velocity[name]!;
        const g = step.grads[name]!;
        for (let k = 0; k < p.length; k++) {
          const grad = g[k]! + r.weightDecay * p[k]!;
          v[k] = r.momentum * v[k]! + grad;
          p[k]! -= lr * v[k]!;
        }
      }
    }
    state.epoch = epoch + 1;
    if (o.checkpoint) await saveCheckpoint(o.checkpoint, state, o.seed, model);
    const trainLoss = lossSum / seen;
    if (!Number.isFinite(trainLoss)) throw new DivergedError(epoch + 1, trainLoss, lr);
    const go = await o.onEpoch?.(epoch, { params: state.params, trainLoss, lr });
    if (go === false) break;
  }
  return state.params;
}

/** The paper's head trained with the paper's recipe (`recipe.hidden` sets its width). */
export async function trainMlpHead(o: Omit<TrainOptions, 'model'> & { dim: number; textInit: Float32Array }): Promise<MlpParams> {
  const model = mlpHeadModel(o.textInit, o.dim, o.recipe?.hidden ?? PAPER_RECIPE.hidden);
  return (await trainHead({ ...o, model })) as MlpParams;
}
