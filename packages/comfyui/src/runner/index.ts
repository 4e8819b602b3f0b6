// The runner: drives ComfyUI itself (queue prompts, collect images, reconnect) for best-of-N and rerolls.
export { ComfyClient } from './client.js';
export type { ComfyClientOptions, ComfyEvent, ComfyImage, PromptRun, Workflow } from './client.js';
export { reconnectDelays } from './socket.js';
export type { ReconnectPolicy } from './socket.js';
export { ComfyConnectionError, ComfyExecutionError, ComfyValidationError, WorkflowError } from './errors.js';
export { comfyImageFrame, parseComfyFrame } from './frames.js';
export type { ComfyBinaryFrame } from './frames.js';
export { bestOfAttempts, bestOfN, checkGeneration, findSeedTargets, parseSeedTarget, rerollUntil, withSeed } from './orchestrate.js';
export type { Attempt, BestOfResult, Candidate, GenerationOptions, ImageScorer, RerollResult, SeedTarget } from './orchestrate.js';
export { ComfyPool } from './pool.js';
export { drawSeed, MAX_COMFY_SEED, toJson } from './seeds.js';
export type { Seed } from './seeds.js';
export type { ComfyPoolOptions, PromptRunner } from './pool.js';
