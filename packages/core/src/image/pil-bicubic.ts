/**
 * PIL's BICUBIC resampling (Image.resize, 8 bits per channel), reproduced operation for operation:
 * Catmull-Rom kernel (a = -0.5) widened by the scale when reducing, pixel-centre alignment, 22-bit
 * fixed-point coefficients, a horizontal pass rounded to 8 bits, then a vertical pass. Its output is
 * bit-identical to PIL's. The coefficients are computed here; the two passes run in a WebAssembly SIMD
 * kernel (../../assembly/pil-bicubic.ts), several times faster than the same loops in JavaScript.
 */
import { UsageError } from '../errors.js';
import { PIL_BICUBIC_WASM } from '../generated/pil-bicubic-wasm.js';

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

/** The parts of the WebAssembly global used here (Node's type definitions do not declare it). */
interface WasmMemory { readonly buffer: ArrayBuffer; grow(pages: number): number }
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Memory: new (descriptor: { initial: number }) => WasmMemory;
  Instance: new (module: object, imports: object) => { exports: object };
}
const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

interface Kernel {
  memory: WasmMemory;
  horizontal(src: number, inW: number, rows: number, bounds: number, weights: number, taps: number, firstCol: number, cols: number, dst: number): void;
  vertical(mid: number, stride: number, rowOffset: number, bounds: number, weights: number, taps: number, firstRow: number, rows: number, dst: number): void;
}

const PAGE = 65536;
/** The kernel reads and writes whole 16-byte vectors, so every buffer ends with this much room. */
const SPARE = 16;
/** Memory a reused kernel instance may keep; a larger image gets an instance of its own, freed after. */
const RETAINED_BYTES = 32 * 1024 * 1024;

let compiled: object | undefined;
let shared: Kernel | undefined;

function instantiate(bytes: number): Kernel {
  compiled ??= new wasm.Module(Buffer.from(PIL_BICUBIC_WASM, 'base64'));
  const memory = new wasm.Memory({ initial: Math.ceil(bytes / PAGE) });
  const { exports } = new wasm.Instance(compiled, { env: { memory } });
  return { memory, ...(exports as unknown as Omit<Kernel, 'memory'>) };
}

function kernelWithRoom(bytes: number): Kernel {
  if (bytes > RETAINED_BYTES) return instantiate(bytes);
  shared ??= instantiate(bytes);
  const missing = bytes - shared.memory.buffer.byteLength;
  if (missing > 0) shared.memory.grow(Math.ceil(missing / PAGE));
  return shared;
}

/** Carves a kernel's memory into 16-byte-aligned buffers with spare room after each. */
function layout<K extends string>(sizes: Record<K, number>): { offsets: Record<K, number>; total: number } {
  const offsets = {} as Record<K, number>;
  let total = 0;
  for (const name of Object.keys(sizes) as K[]) {
    offsets[name] = total;
    total += Math.ceil((sizes[name] + SPARE) / 16) * 16;
  }
  return { offsets, total };
}

/** A window of the resized image: only these output pixels are computed. */
export interface ResizeWindow {
  left: number;
  top: number;
  width: number;
  height: number;
}

/**
 * Resizes interleaved 8-bit RGB from inW x inH to outW x outH as PIL's Image.resize(BICUBIC) does, and
 * returns the pixels of `window` (the whole image by default). Each output pixel depends only on its
 * own coefficients, so a window, e.g. a centre crop, equals the same crop of the whole resize.
 */
export function pilBicubicResize(src: Uint8Array, inW: number, inH: number, outW: number, outH: number,
  window: ResizeWindow = { left: 0, top: 0, width: outW, height: outH }): Uint8Array {
  const { left, top, width, height } = window;
  if (left < 0 || top < 0 || width <= 0 || height <= 0 || left + width > outW || top + height > outH) {
    throw new UsageError('INVALID_ARGUMENT', `window ${width}x${height}+${left}+${top} is not inside ${outW}x${outH}`);
  }
  if (src.length !== inW * inH * 3) throw new UsageError('INVALID_ARGUMENT', `${src.length} bytes are not ${inW}x${inH} RGB pixels`);
  const horizontal = outW !== inW ? coefficients(inW, outW) : undefined;
  const vertical = outH !== inH ? coefficients(inH, outH) : undefined;
  // Source rows the window needs: those under its vertical taps, or its own rows without a vertical pass.
  const firstRow = vertical ? vertical.bounds[top * 2]! : top;
  const lastRow = vertical ? vertical.bounds[(top + height - 1) * 2]! + vertical.bounds[(top + height - 1) * 2 + 1]! : top + height;
  const midRows = lastRow - firstRow;
  const stride = width * 3;
  const { offsets: o, total } = layout({
    src: horizontal ? midRows * inW * 3 : 0,
    hBounds: horizontal?.bounds.byteLength ?? 0,
    hWeights: horizontal?.weights.byteLength ?? 0,
    vBounds: vertical?.bounds.byteLength ?? 0,
    vWeights: vertical?.weights.byteLength ?? 0,
    mid: midRows * stride,
    out: vertical ? height * stride : 0,
  });
  const kernel = kernelWithRoom(total);
  const heap = new Uint8Array(kernel.memory.buffer);

  if (horizontal) {
    heap.set(src.subarray(firstRow * inW * 3, lastRow * inW * 3), o.src);
    heap.set(new Uint8Array(horizontal.bounds.buffer), o.hBounds);
    heap.set(new Uint8Array(horizontal.weights.buffer), o.hWeights);
    kernel.horizontal(o.src, inW, midRows, o.hBounds, o.hWeights, horizontal.taps, left, width, o.mid);
  } else {
    for (let y = 0; y < midRows; y++) {
      const from = ((firstRow + y) * inW + left) * 3;
      heap.set(src.subarray(from, from + stride), o.mid + y * stride);
    }
  }
  if (!vertical) return heap.slice(o.mid, o.mid + height * stride);
  heap.set(new Uint8Array(vertical.bounds.buffer), o.vBounds);
  heap.set(new Uint8Array(vertical.weights.buffer), o.vWeights);
  kernel.vertical(o.mid, stride, firstRow, o.vBounds, o.vWeights, vertical.taps, top, height, o.out);
  return heap.slice(o.out, o.out + height * stride);
}
