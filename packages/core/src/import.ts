// @clip-agiqa/core/import: turning a CLIP (a Hugging Face hub repository or a transformers.js folder) into
// a bundle with zero-shot heads. Its own entry, so that scoring never loads the hub client or the
// importer; createScorer() loads them only for an `hf:` model.
export { importModel } from './bundle/import/import-model.js';
export type { ImportOptions, ImportResult } from './bundle/import/import-model.js';
export { parseHubRef, hubEndpoint } from './bundle/import/hub.js';
export type { HubOptions, HubProgress, HubRef } from './bundle/import/hub.js';
export { CLIP_IQA_PAIRS, CLIP_LOGIT_SCALE } from './bundle/import/zero-shot-heads.js';
export type { ZeroShotOptions } from './bundle/import/zero-shot-heads.js';
