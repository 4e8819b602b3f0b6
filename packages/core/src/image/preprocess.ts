import type { Sharp } from 'sharp';

import { InputError } from '../errors.js';
import type { ModelBundleManifest } from '../generated/model-bundle.js';
import { isRawPixels, isSharp, readImageFile, type ResolvedSource } from './input.js';
import { sharp } from '../runtime/native.js';
import { pilBicubicResize } from './pil-bicubic.js';
import { isUnsafeFormat, sniffFormat } from './sniff.js';

export interface PreprocessConfig {
  /** Side of the square model input. */
  size: number;
  mean: readonly [number, number, number];
  std: readonly [number, number, number];
  /** RGB that transparent pixels are flattened onto. */
  background: readonly [number, number, number];
  /**
   * Which bicubic resize runs. `pil` (default): PIL's algorithm reproduced exactly, so the model sees the
   * very pixels of the reference recipe. `libvips`: libvips' Catmull-Rom reduction, as fast on 512x512
   * images and about 3x faster on 2048x2048 JPEGs, but off by about 0.2/255 on average and up to 8/255 at
   * sharp edges; enlargements still use `pil`, where libvips departs further.
   */
  resampler?: Resampler;
  /** Rounding of a centre-crop offset that is not whole (default half-even, torchvision's). */
  cropRounding?: 'half-even' | 'floor';
}

export interface DecodeLimits {
  /** Images with more pixels are refused from their header, before any decoding (decompression bombs). */
  maxPixels: number;
  /** Files larger than this are refused before they are read. */
  maxFileBytes: number;
  /** Decode SVG and PDF, which can reference external resources. Off by default. */
  allowUnsafeFormats: boolean;
}

export type Resampler = 'pil' | 'libvips';
export const RESAMPLERS: readonly Resampler[] = ['pil', 'libvips'];

export const DEFAULT_LIMITS: DecodeLimits = { maxPixels: 64_000_000, maxFileBytes: 256 * 1024 * 1024, allowUnsafeFormats: false };
export const DEFAULT_BACKGROUND = [255, 255, 255] as const;

export function preprocessConfig(p: ModelBundleManifest['preprocess'], resampler: Resampler = 'pil'): PreprocessConfig {
  return { size: p.size, mean: p.mean, std: p.std, background: p.background ?? DEFAULT_BACKGROUND, resampler, cropRounding: p.crop_rounding ?? 'half-even' };
}

/** Python's round(): halves go to the even neighbour. torchvision's CenterCrop rounds this way. */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** Size after resizing the shortest edge to `size`, as torchvision's Resize(int) computes it. */
export function shortestEdgeSize(width: number, height: number, size: number): { width: number; height: number } {
  return width <= height
    ? { width: size, height: Math.floor((size * height) / width) }
    : { width: Math.floor((size * width) / height), height: size };
}

function decodeError(e: unknown, id: string): InputError {
  const msg = (e as Error).message ?? String(e);
  if (/pixel limit/i.test(msg)) return new InputError('TOO_MANY_PIXELS', msg, { input: id, cause: e });
  if (/unsupported image format/i.test(msg)) return new InputError('UNSUPPORTED_FORMAT', msg, { input: id, cause: e });
  return new InputError('CORRUPT_IMAGE', `cannot decode image: ${msg}`, { input: id, cause: e });
}

function checkPixelCount(width: number, height: number, limits: DecodeLimits, id: string): void {
  if (!(width > 0 && height > 0)) throw new InputError('CORRUPT_IMAGE', `image has no pixels (${width}x${height})`, { input: id });
  if (width * height > limits.maxPixels) {
    throw new InputError('TOO_MANY_PIXELS',
      `image is ${width}x${height} = ${width * height} pixels, over the limit of ${limits.maxPixels}`, { input: id });
  }
}

interface OpenedImage {
  image: Sharp;
  /** Stored size, before EXIF orientation. */
  width: number;
  height: number;
  orientation: number;
}

/** Opens any source as a sharp pipeline on its first frame, after the format and pixel-count checks. */
async function openImage(source: ResolvedSource, id: string, limits: DecodeLimits): Promise<OpenedImage> {
  if (isRawPixels(source)) {
    const { data, width, height, channels } = source;
    if (![1, 3, 4].includes(channels) || !Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
      throw new InputError('INVALID_PIXELS', `raw pixels need positive integer width/height and 1, 3 or 4 channels`, { input: id });
    }
    if (data.byteLength !== width * height * channels) {
      throw new InputError('INVALID_PIXELS', `raw pixels hold ${data.byteLength} bytes, ${width}x${height}x${channels} needs ${width * height * channels}`, { input: id });
    }
    checkPixelCount(width, height, limits, id);
    return { image: sharp(data, { raw: { width, height, channels }, limitInputPixels: limits.maxPixels }), width, height, orientation: 1 };
  }
  if (isSharp(source)) {
    const { data, info } = await source.clone().raw().toBuffer({ resolveWithObject: true }).catch((e: unknown) => { throw decodeError(e, id); });
    return openImage({ data, width: info.width, height: info.height, channels: info.channels as 1 | 3 | 4 }, id, limits);
  }
  const bytes = typeof source === 'string' ? await readImageFile(source, limits.maxFileBytes) : source;
  if (bytes.byteLength === 0) throw new InputError('EMPTY_INPUT', 'the image has 0 bytes', { input: id });
  const format = sniffFormat(bytes);
  if (format === 'unknown') throw new InputError('UNSUPPORTED_FORMAT', 'not an image in a supported format (JPEG, PNG, WebP, AVIF, TIFF, GIF)', { input: id });
  if (isUnsafeFormat(format) && !limits.allowUnsafeFormats) {
    throw new InputError('UNSAFE_FORMAT', `${format.toUpperCase()} can reference external resources and is refused (enable allowUnsafeFormats to decode it)`, { input: id });
  }
  const options = { failOn: 'truncated', limitInputPixels: limits.maxPixels, pages: 1, page: 0 } as const;
  // Header only: the pixel count is checked here, before anything is decoded.
  const meta = await sharp(bytes, { ...options, limitInputPixels: false }).metadata().catch((e: unknown) => { throw decodeError(e, id); });
  checkPixelCount(meta.width ?? 0, meta.height ?? 0, limits, id);
  return { image: sharp(bytes, options), width: meta.width!, height: meta.height!, orientation: meta.orientation ?? 1 };
}

function checkChannels(channels: number, id: string): void {
  if (channels !== 3) throw new InputError('CORRUPT_IMAGE', `decoder produced ${channels} channels, expected 3`, { input: id });
}

/** Copies a width x height window (square by default) out of interleaved RGB `src` whose rows are `srcWidth` long. */
export function cropRgb(src: Uint8Array, srcWidth: number, left: number, top: number, width: number, height = width): Uint8Array {
  const out = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    const from = ((top + y) * srcWidth + left) * 3;
    out.set(src.subarray(from, from + width * 3), y * width * 3);
  }
  return out;
}

/** Decoded 8-bit RGB of a whole image (first frame, EXIF-oriented, alpha flattened onto the background, sRGB). */
export interface RgbImage {
  data: Uint8Array;
  width: number;
  height: number;
}

async function orientedRgb(opened: OpenedImage, cfg: PreprocessConfig): Promise<Sharp> {
  const [r, g, b] = cfg.background;
  return opened.image.rotate().flatten({ background: { r, g, b } }).toColourspace('srgb').removeAlpha();
}

async function rawRgb(pipeline: Sharp, id: string): Promise<RgbImage> {
  const { data, info } = await pipeline.raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
  checkChannels(info.channels, id);
  return { data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), width: info.width, height: info.height };
}

/** Decodes a whole image to RGB with the same checks and conversions as the scorer (for training views). */
export async function decodeRgb(source: ResolvedSource, id: string, cfg: PreprocessConfig, limits: DecodeLimits = DEFAULT_LIMITS): Promise<RgbImage> {
  const opened = await openImage(source, id, limits);
  try {
    return await rawRgb(await orientedRgb(opened, cfg), id);
  } catch (e) {
    throw e instanceof InputError ? e : decodeError(e, id);
  }
}

/**
 * The CLIP test-time recipe up to the crop: first frame, EXIF orientation, alpha flattened onto the
 * background, sRGB, bicubic resize of the shortest edge, centre crop. Returns size x size x 3 RGB bytes.
 */
export async function clipPixels(source: ResolvedSource, id: string, cfg: PreprocessConfig, limits: DecodeLimits = DEFAULT_LIMITS): Promise<Uint8Array> {
  const opened = await openImage(source, id, limits);
  try {
    const swap = opened.orientation >= 5;
    const width = swap ? opened.height : opened.width;
    const height = swap ? opened.width : opened.height;
    const target = shortestEdgeSize(width, height, cfg.size);
    const rgb = await orientedRgb(opened, cfg);
    const round = cfg.cropRounding === 'floor' ? Math.floor : roundHalfEven;
    const left = round((target.width - cfg.size) / 2);
    const top = round((target.height - cfg.size) / 2);
    const enlarging = target.width > width;
    if (cfg.resampler !== 'libvips' || enlarging) {
      const full = await rawRgb(rgb, id);
      return pilBicubicResize(full.data, width, height, target.width, target.height, { left, top, width: cfg.size, height: cfg.size });
    }
    const resized = target.width !== width || target.height !== height
      // 'cubic' is the Catmull-Rom kernel (a = -0.5), PIL's BICUBIC; shrink-on-load would pre-shrink JPEGs.
      ? rgb.resize(target.width, target.height, { kernel: 'cubic', fit: 'fill', fastShrinkOnLoad: false })
      : rgb;
    const out = await rawRgb(resized.extract({ left, top, width: cfg.size, height: cfg.size }), id);
    return out.data;
  } catch (e) {
    throw e instanceof InputError ? e : decodeError(e, id);
  }
}

/**
 * Writes RGB bytes as normalised CHW float32 into `out` at `offset`, with the float32 arithmetic of
 * torchvision's ToTensor + Normalize, so golden tensors are reproduced exactly.
 */
export function normaliseInto(pixels: Uint8Array, cfg: PreprocessConfig, out: Float32Array, offset = 0): void {
  const plane = cfg.size * cfg.size;
  const f = Math.fround;
  for (let c = 0; c < 3; c++) {
    const mean = f(cfg.mean[c]!);
    const std = f(cfg.std[c]!);
    const base = offset + c * plane;
    for (let i = 0; i < plane; i++) out[base + i] = f(f(f(pixels[i * 3 + c]! / 255) - mean) / std);
  }
}
