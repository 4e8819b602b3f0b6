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
