/**
 * PIL's BICUBIC resampling (Image.resize, 8 bits per channel), reproduced operation for operation:
 * Catmull-Rom kernel (a = -0.5) widened by the scale when reducing, pixel-centre alignment, 22-bit
 * fixed-point coefficients, a horizontal pass rounded to 8 bits, then a vertical pass. Its output is
 * bit-identical to PIL's. The scorer uses it where libvips' resampler departs from PIL's (enlarging).
 */

const PRECISION_BITS = 32 - 8 - 2;
const SUPPORT = 2;
const A = -0.5;

function bicubic(x: number): number {
  x = Math.abs(x);
  if (x < 1) return ((A + 2) * x - (A + 3)) * x * x + 1;
  if (x < 2) return (((x - 5) * x + 8) * x - 4) * A;
  return 0;
}

interface Coefficients {
  bounds: Int32Array; // [xmin, count] per output pixel
  weights: Int32Array; // fixed point, `taps` per output pixel
  taps: number;
}

function coefficients(inSize: number, outSize: number): Coefficients {
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1);
  const support = SUPPORT * filterScale;
  const taps = Math.ceil(support) * 2 + 1;
  const bounds = new Int32Array(outSize * 2);
  const weights = new Int32Array(outSize * taps);
  const k = new Float64Array(taps);
  const ss = 1 / filterScale;
  for (let xx = 0; xx < outSize; xx++) {
    const centre = (xx + 0.5) * scale;
    const xmin = Math.max(Math.trunc(centre - support + 0.5), 0);
    const count = Math.min(Math.trunc(centre + support + 0.5), inSize) - xmin;
    let total = 0;
    for (let x = 0; x < count; x++) {
      k[x] = bicubic((x + xmin - centre + 0.5) * ss);
      total += k[x]!;
    }
    for (let x = 0; x < count; x++) {
      const w = total !== 0 ? k[x]! / total : k[x]!;
      weights[xx * taps + x] = w < 0 ? Math.trunc(-0.5 + w * (1 << PRECISION_BITS)) : Math.trunc(0.5 + w * (1 << PRECISION_BITS));
    }
    bounds[xx * 2] = xmin;
    bounds[xx * 2 + 1] = count;
  }
  return { bounds, weights, taps };
}

function clip8(acc: number): number {
  const v = acc >> PRECISION_BITS;
  return v < 0 ? 0 : v > 255 ? 255 : v;
}

/** Resizes interleaved 8-bit RGB from inW x inH to outW x outH as PIL's Image.resize(BICUBIC) does. */
export function pilBicubicResize(src: Uint8Array, inW: number, inH: number, outW: number, outH: number): Uint8Array {
  const horizontal = coefficients(inW, outW);
  const vertical = coefficients(inH, outH);
  const half = 1 << (PRECISION_BITS - 1);
  // Rows of the source the vertical pass reads: PIL runs the horizontal pass on those only.
  const first = vertical.bounds[0]!;
  const last = vertical.bounds[(outH - 1) * 2]! + vertical.bounds[(outH - 1) * 2 + 1]!;

  let mid = src;
  let midRows = inH;
  let rowOffset = 0;
  if (outW !== inW) {
    midRows = last - first;
    rowOffset = first;
    mid = new Uint8Array(midRows * outW * 3);
    const { bounds, weights, taps } = horizontal;
    for (let y = 0; y < midRows; y++) {
      const inRow = (y + first) * inW * 3;
      for (let xx = 0; xx < outW; xx++) {
        const xmin = bounds[xx * 2]!;
        const count = bounds[xx * 2 + 1]!;
        let r = half, g = half, b = half;
        for (let x = 0; x < count; x++) {
          const w = weights[xx * taps + x]!;
          const p = inRow + (xmin + x) * 3;
          r += src[p]! * w;
          g += src[p + 1]! * w;
          b += src[p + 2]! * w;
        }
        const o = (y * outW + xx) * 3;
        mid[o] = clip8(r);
        mid[o + 1] = clip8(g);
        mid[o + 2] = clip8(b);
      }
    }
  }
  if (outH === inH) return mid;

  const out = new Uint8Array(outW * outH * 3);
  const { bounds, weights, taps } = vertical;
  const stride = outW * 3;
  for (let yy = 0; yy < outH; yy++) {
    const ymin = bounds[yy * 2]! - rowOffset;
    const count = bounds[yy * 2 + 1]!;
    for (let i = 0; i < stride; i++) {
      let acc = half;
      for (let y = 0; y < count; y++) acc += mid[(ymin + y) * stride + i]! * weights[yy * taps + y]!;
      out[yy * stride + i] = clip8(acc);
    }
  }
  return out;
}
