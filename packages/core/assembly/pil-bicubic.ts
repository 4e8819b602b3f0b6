// AssemblyScript, compiled to WebAssembly by scripts/gen-wasm.mjs into src/generated/pil-bicubic-wasm.ts.
//
// The two fixed-point passes of PIL's bicubic Image.resize (8 bits per channel) over interleaved RGB,
// with 128-bit SIMD: the same 22-bit coefficients (computed by the caller), the same integer
// products and sums, the same rounding (a half added up front, an arithmetic shift, clamping to 0..255),
// so every output byte equals PIL's. Memory belongs to the caller; buffers need 16 spare bytes at the
// end, because pixels are read and written a whole vector at a time.

const PRECISION_BITS: i32 = 22;
const HALF: i32 = 1 << (PRECISION_BITS - 1);

/** Four i32 lanes to bytes in lane order: shift out the fraction, clamp to 0..255. */
function clampToBytes(a: v128, b: v128, c: v128, d: v128): v128 {
  const ab = i16x8.narrow_i32x4_s(i32x4.shr_s(a, PRECISION_BITS), i32x4.shr_s(b, PRECISION_BITS));
  const cd = i16x8.narrow_i32x4_s(i32x4.shr_s(c, PRECISION_BITS), i32x4.shr_s(d, PRECISION_BITS));
  return i8x16.narrow_i16x8_u(ab, cd);
}

/** Widens the 3 bytes of an RGB pixel at `p` (and the byte after it) to i32 lanes. */
function pixelAt(p: usize): v128 {
  return i32x4.extend_low_i16x8_u(i16x8.extend_low_i8x16_u(v128.load32_zero(p)));
}

/** Writes the R, G, B lanes of an accumulator as 3 bytes, nothing past them. */
function storePixel(out: usize, acc: v128, zero: v128): void {
  const bytes = clampToBytes(acc, zero, zero, zero);
  v128.store16_lane(out, bytes, 0);
  v128.store8_lane(out, bytes, 2, 2);
}

/**
 * Horizontal pass over `rows` rows of `src` (each `inW` RGB pixels), for output columns
 * firstCol..firstCol+cols. `bounds` holds [first input pixel, tap count] per output column and
 * `weights` `taps` coefficients per output column. One pixel's R, G, B (and a spare byte) share a
 * vector; four rows go together, so they share each coefficient load and their sums run side by side.
 * A last group of fewer than four rows repeats its last row, which writes the same bytes twice.
 */
export function horizontal(src: usize, inW: i32, rows: i32, bounds: usize, weights: usize, taps: i32, firstCol: i32, cols: i32, dst: usize): void {
  const half = i32x4.splat(HALF);
  const zero = i32x4.splat(0);
  const inStride = <usize>(inW * 3);
  const outStride = <usize>(cols * 3);
  for (let y = 0; y < rows; y += 4) {
    const r1 = <usize>min(y + 1, rows - 1) - <usize>y;
    const r2 = <usize>min(y + 2, rows - 1) - <usize>y;
    const r3 = <usize>min(y + 3, rows - 1) - <usize>y;
    const row = src + <usize>y * inStride;
    let out = dst + <usize>y * outStride;
    for (let xx = firstCol; xx < firstCol + cols; xx++) {
      const count = load<i32>(bounds + (<usize>xx << 3), 4);
      let p = row + <usize>(load<i32>(bounds + (<usize>xx << 3)) * 3);
      let w = weights + (<usize>(xx * taps) << 2);
      let a0 = half, a1 = half, a2 = half, a3 = half;
      for (let x = 0; x < count; x++) {
        const weight = i32x4.splat(load<i32>(w));
        a0 = i32x4.add(a0, i32x4.mul(pixelAt(p), weight));
        a1 = i32x4.add(a1, i32x4.mul(pixelAt(p + r1 * inStride), weight));
        a2 = i32x4.add(a2, i32x4.mul(pixelAt(p + r2 * inStride), weight));
        a3 = i32x4.add(a3, i32x4.mul(pixelAt(p + r3 * inStride), weight));
        p += 3;
        w += 4;
      }
      storePixel(out, a0, zero);
      storePixel(out + r1 * outStride, a1, zero);
      storePixel(out + r2 * outStride, a2, zero);
      storePixel(out + r3 * outStride, a3, zero);
      out += 3;
    }
  }
}

/**
 * Vertical pass: output rows firstRow..firstRow+rows from `mid`, whose rows are `stride` bytes and whose
 * first row is input row `rowOffset`. Sixteen bytes of a row (any channels) share a step.
 */
export function vertical(mid: usize, stride: i32, rowOffset: i32, bounds: usize, weights: usize, taps: i32, firstRow: i32, rows: i32, dst: usize): void {
  const half = i32x4.splat(HALF);
  for (let yy = firstRow; yy < firstRow + rows; yy++) {
    const first = load<i32>(bounds + (<usize>yy << 3)) - rowOffset;
    const count = load<i32>(bounds + (<usize>yy << 3), 4);
    const w = weights + (<usize>(yy * taps) << 2);
    const out = dst + <usize>((yy - firstRow) * stride);
    for (let i = 0; i < stride; i += 16) {
      let a0 = half, a1 = half, a2 = half, a3 = half;
      let p = mid + <usize>(first * stride + i);
      for (let y = 0; y < count; y++) {
        const bytes = v128.load(p);
        const weight = i32x4.splat(load<i32>(w + (<usize>y << 2)));
        const lo = i16x8.extend_low_i8x16_u(bytes);
        const hi = i16x8.extend_high_i8x16_u(bytes);
        a0 = i32x4.add(a0, i32x4.mul(i32x4.extend_low_i16x8_u(lo), weight));
        a1 = i32x4.add(a1, i32x4.mul(i32x4.extend_high_i16x8_u(lo), weight));
        a2 = i32x4.add(a2, i32x4.mul(i32x4.extend_low_i16x8_u(hi), weight));
        a3 = i32x4.add(a3, i32x4.mul(i32x4.extend_high_i16x8_u(hi), weight));
        p += <usize>stride;
      }
      v128.store(out + <usize>i, clampToBytes(a0, a1, a2, a3));
    }
  }
}
