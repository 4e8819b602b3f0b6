export { main } from './main.js';
export { expandPaths, IMAGE_EXTENSIONS } from './paths.js';
export { withScoreMetadata, withPngText, withJpegXmp, pngChunk, METADATA_KEY, XMP_NAMESPACE } from './metadata.js';
