import { open } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

import type { Sharp } from 'sharp';

import { InputError } from '../errors.js';
import { typeName } from '../model-argument.js';

/** Decoded pixels, 8 bits per channel, row-major, interleaved: 1 (grey), 3 (RGB) or 4 (RGBA) channels. */
export interface RawPixels {
  data: Uint8Array;
  width: number;
  height: number;
  channels: 1 | 3 | 4;
}

/**
 * What the scorer accepts: a file path (or file: URL), the bytes of an encoded image, raw pixels, or a
 * sharp pipeline. Wrap any of them as `{ id, image }` to choose the identity results carry, and
 * `{ image, prompt }` (with or without an id) to give the prompt it was generated from.
 */
export type ImageSource = string | URL | Uint8Array | RawPixels | Sharp;
/** An image source after inputSource(): file URLs have become paths. */
export type ResolvedSource = Exclude<ImageSource, URL>;

const WHAT_TO_PASS = 'pass a file path or file: URL, the bytes of an encoded image (Buffer/Uint8Array), raw pixels { data, width, height, channels }, or a sharp pipeline';
export interface LabelledImage {
  /** Default: the image's own identity (its path, or `#<index>`). */
  id?: string;
  image: ImageSource;
  /** The prompt the image was generated from, for heads that score alignment with it. */
  prompt?: string;
}
export type ImageInput = ImageSource | LabelledImage;

export function isRawPixels(x: unknown): x is RawPixels {
  return typeof x === 'object' && x !== null && 'data' in x && 'width' in x && 'height' in x && 'channels' in x;
}

export function isSharp(x: unknown): x is Sharp {
  return typeof x === 'object' && x !== null && typeof (x as Sharp).metadata === 'function' && typeof (x as Sharp).clone === 'function';
}

function isLabelled(x: unknown): x is LabelledImage {
  return typeof x === 'object' && x !== null && !(x instanceof Uint8Array) && 'image' in x && ('id' in x || 'prompt' in x);
}

/**
 * The prompt an input carries (`{ image, prompt }`), else the call's; blank prompts count as none.
 * A prompt that is not a string is refused for that input.
 */
export function inputPrompt(input: ImageInput, id: string, callPrompt: string | undefined): string | undefined {
  const own: unknown = isLabelled(input) ? input.prompt : undefined;
  const prompt = own ?? callPrompt;
  if (prompt === undefined) return undefined;
  if (typeof prompt !== 'string') throw new InputError('UNSUPPORTED_INPUT', `a prompt must be a string, got ${typeName(prompt)}`, { input: id });
  return prompt.trim() === '' ? undefined : prompt;
}

/** The identity a result carries: the wrapper's id, a file's path, or `#<index>` for in-memory images. */
export function inputId(input: ImageInput, index: number): string {
  if (isLabelled(input)) return input.id ?? inputId(input.image, index);
  if (typeof input === 'string') return input;
  if (input instanceof URL) return input.protocol === 'file:' ? fileURLToPath(input) : input.href;
  return `#${index}`;
}

/** The image behind an input, file URLs turned into paths; anything the scorer cannot read is refused with what to pass instead. */
export function inputSource(input: ImageInput, id: string): ResolvedSource {
  const source: unknown = isLabelled(input) ? input.image : input;
  if (source instanceof URL) {
    if (source.protocol === 'file:') return fileURLToPath(source);
    throw new InputError('UNSUPPORTED_INPUT', `${source.protocol} URLs are not fetched by the scorer: download the image and pass its bytes, or ${WHAT_TO_PASS}`, { input: id });
  }
  if (typeof source === 'string' || source instanceof Uint8Array || isRawPixels(source) || isSharp(source)) return source;
  throw new InputError('UNSUPPORTED_INPUT', `cannot score a ${typeName(source)}: ${WHAT_TO_PASS}`, { input: id });
}

/** Reads a file, refusing empty and oversized files before reading them whole. */
export async function readImageFile(path: string, maxBytes: number): Promise<Buffer> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (e) {
    throw new InputError('UNREADABLE_FILE', `cannot open file (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, { input: path, cause: e });
  }
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw new InputError('UNREADABLE_FILE', 'not a regular file', { input: path });
    if (info.size === 0) throw new InputError('EMPTY_INPUT', 'the file is empty (0 bytes)', { input: path });
    if (info.size > maxBytes) throw new InputError('FILE_TOO_LARGE', `the file has ${info.size} bytes, over the limit of ${maxBytes}`, { input: path });
    return await handle.readFile();
  } catch (e) {
    if (e instanceof InputError) throw e;
    throw new InputError('UNREADABLE_FILE', `cannot read file (${(e as Error).message})`, { input: path, cause: e });
  } finally {
    await handle.close();
  }
}
