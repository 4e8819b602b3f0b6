// Building blocks the clip-agiqa packages share (webhook, comfyui, train, cli). Not a public API:
// anything here may change in any release. Applications use '@clip-agiqa/core'.

// Bundles: manifests, checksums, tensors
export { readManifest, parseManifest, listedFiles, resolveInside, towerFiles } from './bundle/load.js';
export type { FileEntry } from './bundle/load.js';
export { parseSafetensors } from './bundle/safetensors.js';
export { writeSafetensors } from './bundle/safetensors-writer.js';
export { sha256, sha256File } from './bundle/checksum.js';
export { writeBundle, type WriteBundleOptions } from './bundle/write-bundle.js';
export { createHead, createPromptHead, readsPrompt } from './heads/registry.js';
export { ClipTokenizer } from './text/tokenizer.js';
export { encodeTexts, TextTower } from './text/text-tower.js';
export type { TextEncoderEntry, Truncation } from './text/text-tower.js';
export { percentile } from './decision.js';
export { cosine } from './heads/clipscore.js';
export { DEFAULT_PROMPT, LEVEL_WORDS, levelPrompts } from './heads/levels.js';
export { HEAD_KIND_TENSORS, LEVELS, NORM_EPS } from './heads/specs.js';

// Images
export {
  clipPixels, cropRgb, decodeRgb, normaliseInto, preprocessConfig, shortestEdgeSize, DEFAULT_BACKGROUND,
} from './image/preprocess.js';
export type { PreprocessConfig } from './image/preprocess.js';
export { pilBicubicResize } from './image/pil-bicubic.js';
export { sniffFormat, SAFE_FORMATS, UNSAFE_FORMATS } from './image/sniff.js';
export type { SniffedFormat } from './image/sniff.js';
export { withPngText, withJpegXmp } from './records/metadata.js';
export { pngChunk, pngChunks, pngTextChunks } from './records/png-chunks.js';

// Runtime
export { openSession } from './runtime/device.js';
export { onnxRuntime, sharp } from './runtime/native.js';
export type { OpenedSession, SessionOptions } from './runtime/device.js';
export { Semaphore } from './runtime/semaphore.js';
export { MicroBatcher } from './runtime/batcher.js';
export { ImageTower, type TowerIo } from './runtime/image-tower.js';

// Utilities: atomic writes, JSON-line logs, constant-time comparison, header access
export { constantTimeEqual, fsyncDir, header, jsonLineLog, writeAtomically } from './util/index.js';
export type { HeaderBag, Log, LogLine } from './util/index.js';
export { listen, listenAdvice } from './util/listen.js';
export type { ListenHints } from './util/listen.js';

// Wire formats
export { addSchemas, compileDefinitionWithDefaults, compileSchema, compileSchemaWithDefaults } from './validation.js';
export { defsSchema } from './generated/defs.js';
export type { WireError, WirePolicy } from './generated/defs.js';
export type { ValidationResult } from './validation.js';
