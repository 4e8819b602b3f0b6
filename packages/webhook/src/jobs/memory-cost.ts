/**
 * What decoding an image costs, per pixel: the peak RSS growth of the scorer decoding and
 * preprocessing one PNG (sharp/libvips working memory plus the decoded RGB), measured with
 * `bench/decode-memory.ts`: 7.5 bytes a pixel at 2000², 6.8 at 4000², 6.4 at 8000² (one image at a
 * time; two at once: 5.2-5.6). Charged at 8 so the budget stays above what decoding really takes.
 */
export const DECODE_BYTES_PER_PIXEL = 8;

/** A 2x2 grid is decoded whole to RGB and then copied into its four quarters: 3 bytes a pixel more. */
const GRID_CROP_BYTES_PER_PIXEL = 3;

/** The memory budget's charge for scoring one candidate: its encoded bytes and what decoding it takes. */
export const scoringCost = (size: { bytes: number; pixels: number }, grid: boolean): number =>
  size.bytes + size.pixels * (DECODE_BYTES_PER_PIXEL + (grid ? GRID_CROP_BYTES_PER_PIXEL : 0));
