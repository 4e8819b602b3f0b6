import { isClipAgiqaError, type RawPixels, type Scorer } from '@clip-agiqa/core';
import { cropRgb } from '@clip-agiqa/core/internal';

export type FailedImage = { code: string; message: string };

/** A Midjourney-style 2x2 grid -> its four images, row by row (or the decoding error, four times). */
export async function splitGrid(bytes: Buffer, id: string, scorer: Scorer): Promise<(RawPixels | FailedImage)[]> {
  try {
    const img = await scorer.decode({ id, image: bytes });
    const w = Math.floor(img.width / 2);
    const h = Math.floor(img.height / 2);
    return [[0, 0], [w, 0], [0, h], [w, h]].map(([left, top]) => ({ data: cropRgb(img.data, img.width, left!, top!, w, h), width: w, height: h, channels: 3 as const }));
  } catch (e) {
    const error = isClipAgiqaError(e) ? { code: e.code, message: e.message } : { code: 'DECODE_FAILED', message: (e as Error).message };
    return [error, error, error, error];
  }
}
