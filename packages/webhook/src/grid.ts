import { isClipAgiqaError, type RawPixels, type Scorer } from '@clip-agiqa/core';
import { cropRgb, decodeRgb, preprocessConfig } from '@clip-agiqa/core/internal';

export type FailedImage = { code: string; message: string };
export type CandidateImage = Buffer | FailedImage;

/**
 * One image per candidate -> one entry per scored image: Midjourney-style 2x2 grids (candidates
 * with `grid: "2x2"`) become four candidates `<id>-1` ... `<id>-4`, row by row.
 */
export async function expandGrids(ids: string[], images: CandidateImage[], grids: (string | undefined)[], scorer: Scorer): Promise<{ ids: string[]; images: (CandidateImage | RawPixels)[] }> {
  const outIds: string[] = [];
  const out: (CandidateImage | RawPixels)[] = [];
  for (const [i, im] of images.entries()) {
    if (grids[i] !== '2x2') {
      outIds.push(ids[i]!);
      out.push(im);
      continue;
    }
    const quarters = Buffer.isBuffer(im) ? await splitGrid(im, ids[i]!, scorer) : [im, im, im, im];
    quarters.forEach((q, k) => {
      outIds.push(`${ids[i]!}-${k + 1}`);
      out.push(q);
    });
  }
  return { ids: outIds, images: out };
}

async function splitGrid(bytes: Buffer, id: string, scorer: Scorer): Promise<(RawPixels | FailedImage)[]> {
  try {
    const img = await decodeRgb(bytes, id, preprocessConfig(scorer.bundle.manifest.preprocess));
    const w = Math.floor(img.width / 2);
    const h = Math.floor(img.height / 2);
    return [[0, 0], [w, 0], [0, h], [w, h]].map(([left, top]) => ({ data: cropRgb(img.data, img.width, left!, top!, w, h), width: w, height: h, channels: 3 as const }));
  } catch (e) {
    const error = isClipAgiqaError(e) ? { code: e.code, message: e.message } : { code: 'DECODE_FAILED', message: (e as Error).message };
    return [error, error, error, error];
  }
}
