import { join } from 'node:path';

import { defaultCacheDir, type Scorer } from '@clip-agiqa/core';
import {
  embedDataset, estimateSeconds, loadAgiqa1k, loadAgiqa3k, loadAigciqa2023, loadAigciqa2023Csv, loadAigiqa20k, loadGenericCsv, pendingTowerPasses,
  timeTowerPass, timeTrainingStep, type Dataset, type Embeddings, type HeadModel, type MatmulBackend,
} from '@clip-agiqa/train';

import { CliUsageError, type CliIO } from './io.js';
import { formatSeconds } from './progress.js';

export const DATASET_HELP = `Datasets (--dataset, with --data):
  agiqa-3k         folder with data.csv and the images (in images/ or beside it)
  aigciqa2023      release folder: Image/<model>/NNN-k.png and DATA/MOS/mosz{1,2,3}.mat
  aigciqa2023-csv  the flat label file, with --images pointing at the release folder
  agiqa-1k         AIGC_MOS_Zscore.xlsx (Image,Prompt,MOS) or AIGC_all.csv (Image,Score), with --images
                   (default: file/ beside it)
  aigiqa-20k       info_train.csv (name,prompt,mos), with --images
  csv              your own ratings: path,mos[,prompt][,group][,generator], paths relative to the CSV
`;

export function loadDataset(name: string, data: string, images: string | undefined): Dataset {
  switch (name) {
    case 'agiqa-3k': return loadAgiqa3k(data);
    case 'aigciqa2023': return loadAigciqa2023(data);
    case 'aigciqa2023-csv':
      if (!images) throw new CliUsageError('--dataset aigciqa2023-csv needs --images (the release folder holding Image/)');
      return loadAigciqa2023Csv(data, images);
    case 'agiqa-1k': return loadAgiqa1k(data, images);
    case 'aigiqa-20k': return loadAigiqa20k(data, images);
    case 'csv': return loadGenericCsv(data);
    default: throw new CliUsageError(`unknown --dataset ${name}`);
  }
}

export const defaultEmbeddingCache = () => join(defaultCacheDir(), 'embeddings');

/**
 * What a training run will cost before it starts, measured here: the tower passes the embedding cache
 * lacks at the time one image takes, then the training steps at the time one step takes. One line.
 */
export async function runEstimate(o: {
  dataset: Dataset; scorer: Scorer; model: HeadModel; backend: MatmulBackend; cacheDir: string; views: number; seed: number; epochs: number;
  /** 0 for the paper protocol (one run on 80%); else the rigorous splits (a run per split and kind, on 72%). */
  rigorousSplits: number;
}): Promise<string> {
  const n = o.dataset.samples.length;
  const towerPasses = await pendingTowerPasses(o.dataset, { scorer: o.scorer, cacheDir: o.cacheDir, trainViews: o.views, seed: o.seed });
  const towerSeconds = towerPasses > 0 ? await timeTowerPass(o.scorer, o.dataset.samples[0]!.path) : 0;
  const stepSeconds = await timeTrainingStep(o.model, o.backend);
  const grouped = o.dataset.samples.some((s) => s.group !== undefined);
  const runs = o.rigorousSplits ? o.rigorousSplits * (grouped ? 2 : 1) : 1;
  const trainImages = Math.round(n * (o.rigorousSplits ? 0.72 : 0.8));
  const eta = estimateSeconds({ towerPasses, trainImages, runs, epochs: o.epochs }, towerSeconds, stepSeconds);
  const embedding = towerPasses > 0
    ? `${towerPasses} image-tower passes (${n} images × ${1 + o.views} views, less what the cache holds) at ${(towerSeconds * 1000).toFixed(0)} ms`
    : 'every embedding cached';
  return `ETA about ${formatSeconds(eta.embed + eta.train)}: ${embedding}, then ${runs} run${runs === 1 ? '' : 's'} × ${o.epochs} epochs on ${trainImages} images at ${(stepSeconds * 1000).toFixed(1)} ms per batch`;
}

/** Embeds a dataset through the embedding cache, with a progress line (rate, ETA) on a terminal. */
export async function embedWithProgress(dataset: Dataset, scorer: Scorer, o: { cacheDir?: string | undefined; views: number; seed: number }, io: CliIO): Promise<Embeddings> {
  const started = performance.now();
  return embedDataset(dataset, {
    scorer, cacheDir: o.cacheDir ?? defaultEmbeddingCache(), trainViews: o.views, seed: o.seed,
    onProgress: (done, total, cached) => {
      if (!io.stderr.isTTY && done !== total) return;
      const rate = done / Math.max((performance.now() - started) / 1000, 1e-3);
      io.stderr.write(`\rembedding ${done}/${total} (${cached} cached)  ${rate.toFixed(1)} img/s  ETA ${formatSeconds((total - done) / rate)} ${done === total ? '\n' : ''}`);
    },
  });
}
