import { ClipAgiqaError } from '@clip-agiqa/core';

/**
 * Binary frames carrying one image of a score request:
 * uint32 BE length of the request id | request id (UTF-8) | uint32 BE image index | image bytes.
 */
export function encodeImageFrame(requestId: string, index: number, image: Uint8Array): Buffer {
  const id = Buffer.from(requestId, 'utf8');
  const head = Buffer.alloc(8 + id.length);
  head.writeUInt32BE(id.length, 0);
  id.copy(head, 4);
  head.writeUInt32BE(index, 4 + id.length);
  return Buffer.concat([head, image]);
}

/** A binary frame whose header does not parse. */
export class FrameError extends ClipAgiqaError<'BAD_FRAME'> {
  constructor(message: string) {
    super('BAD_FRAME', message);
  }
}

export function decodeImageFrame(frame: Buffer): { requestId: string; index: number; image: Buffer } {
  if (frame.length < 8) throw new FrameError(`a binary frame of ${frame.length} bytes is too short for its header`);
  const idLength = frame.readUInt32BE(0);
  if (idLength === 0 || idLength > 128 || 8 + idLength > frame.length) throw new FrameError(`a binary frame declares a request id of ${idLength} bytes`);
  return { requestId: frame.toString('utf8', 4, 4 + idLength), index: frame.readUInt32BE(4 + idLength), image: frame.subarray(8 + idLength) };
}
