export { evaluate, fitLogistic4, kendall, logistic4, pearson, ranks, rmse, spearman } from './metrics.js';
export type { Metrics } from './metrics.js';
export { DatasetError } from './datasets/dataset.js';
export type { Dataset, LoadOptions, Sample } from './datasets/dataset.js';
export {
  AIGCIQA2023_MODELS, loadAgiqa1k, loadAgiqa3k, loadAigciqa2023, loadAigciqa2023Csv, loadAigiqa20k, loadGenericCsv,
} from './datasets/loaders.js';
export { parseCsv } from './datasets/csv.js';
export { readMatFile, MatFileError } from './datasets/mat.js';
export type { MatArray } from './datasets/mat.js';
export { Rng } from './rng.js';
export { JsBackend, OrtBackend } from './linalg.js';
export type { MatmulBackend } from './linalg.js';
export { cloneParams, initMlpParams, lossAndGradients, normaliseEmbeddings, LEVELS, PARAM_NAMES } from './mlp-head.js';
export type { MlpParams, ParamName, Step } from './mlp-head.js';
export { headFromParams, headTensors, learningRate, PAPER_RECIPE, trainMlpHead, HEAD_TENSORS } from './trainer.js';
export type { Recipe, Split, TrainOptions } from './trainer.js';
export { embedDataset } from './embed/cache.js';
export type { EmbedOptions, Embeddings } from './embed/cache.js';
export { randomResizedCropBox, trainingView, viewSeed } from './embed/views.js';
export type { CropBox } from './embed/views.js';
