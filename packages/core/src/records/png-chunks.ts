import { open } from 'node:fs/promises';
import { crc32, inflateSync } from 'node:zlib';

export const PNG_SIGNATURE = Buffer.from('\x89PNG\r\n\x1a\n', 'latin1');

/** One PNG chunk: length, type, data, CRC-32 of type and data. */
export function pngChunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])) >>> 0, 0);
  return Buffer.concat([head, data, crc]);
}

export interface PngChunkSpan {
  type: string;
  data: Buffer;
  /** Offsets of the whole chunk (length field to CRC) in the file. */
  start: number;
  end: number;
}

/** The chunks of a PNG after its signature, in order; throws `truncated()` when one runs past the end of the file. */
export function* pngChunks(png: Buffer, truncated: () => Error): Generator<PngChunkSpan> {
  let offset = PNG_SIGNATURE.length;
  while (offset + 12 <= png.length) {
    const length = png.readUInt32BE(offset);
    const end = offset + 12 + length;
    if (end > png.length) throw truncated();
    yield { type: png.toString('latin1', offset + 4, offset + 8), data: png.subarray(offset + 8, offset + 8 + length), start: offset, end };
    offset = end;
  }
}

/**
 * The text chunks of a PNG by keyword (the first of each keyword): tEXt (Latin-1), zTXt (deflated Latin-1) and
 * iTXt (UTF-8, deflated or not). Chunks that cannot be read are passed over; a file that is not a PNG has none.
 */
export function pngTextChunks(png: Buffer): Map<string, string> {
  const texts = new Map<string, string>();
  if (png.length < 8 || !png.subarray(0, 8).equals(PNG_SIGNATURE)) return texts;
  try {
    for (const { type, data } of pngChunks(png, () => new Error('truncated'))) {
      if (type === 'IEND') break;
      if (type !== 'tEXt' && type !== 'zTXt' && type !== 'iTXt') continue;
      const nul = data.indexOf(0);
      if (nul < 1) continue;
      const keyword = data.toString('latin1', 0, nul);
      if (texts.has(keyword)) continue;
      try {
        const text = chunkText(type, data.subarray(nul + 1));
        if (text !== undefined) texts.set(keyword, text);
      } catch {
        // A damaged compressed chunk: the image may still have the others.
      }
    }
  } catch {
    // A truncated file: what was read before the cut stands.
  }
  return texts;
}

function chunkText(type: string, rest: Buffer): string | undefined {
  if (type === 'tEXt') return rest.toString('latin1');
  if (type === 'zTXt') return rest[0] === 0 ? inflateSync(rest.subarray(1)).toString('latin1') : undefined;
  // iTXt: compression flag, compression method, language tag\0, translated keyword\0, text
  const compressed = rest[0] === 1;
  const lang = rest.indexOf(0, 2);
  const translated = lang < 0 ? -1 : rest.indexOf(0, lang + 1);
  if (translated < 0) return undefined;
  const body = rest.subarray(translated + 1);
  return (compressed ? inflateSync(body) : body).toString('utf8');
}

/** Most bytes of metadata chunks readPngHead keeps (ComfyUI's graphs are tens to hundreds of KB). */
const MAX_HEAD_BYTES = 16 * 1024 * 1024;

/**
 * A PNG file's signature and the chunks before its image data (where Pillow, and so ComfyUI and Automatic1111,
 * write text chunks), read without the pixels. Null when the file is not a PNG.
 */
export async function readPngHead(path: string): Promise<Buffer | null> {
  const file = await open(path, 'r');
  try {
    const signature = Buffer.alloc(8);
    if ((await file.read(signature, 0, 8, 0)).bytesRead < 8 || !signature.equals(PNG_SIGNATURE)) return null;
    const parts = [signature];
    let total = 8;
    const header = Buffer.alloc(8);
    for (let offset = 8; ;) {
      if ((await file.read(header, 0, 8, offset)).bytesRead < 8) break;
      const length = header.readUInt32BE(0);
      const type = header.toString('latin1', 4, 8);
      if (type === 'IDAT' || type === 'IEND' || total + length + 12 > MAX_HEAD_BYTES) break;
      const chunk = Buffer.alloc(length + 12);
      const { bytesRead } = await file.read(chunk, 0, length + 12, offset);
      if (bytesRead < length + 12) break;
      parts.push(chunk);
      total += chunk.length;
      offset += chunk.length;
    }
    return Buffer.concat(parts);
  } finally {
    await file.close();
  }
}
