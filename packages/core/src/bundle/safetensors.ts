import { BundleError } from '../errors.js';

export interface Tensor {
  shape: number[];
  /** Values widened to float32 whatever the stored dtype. */
  data: Float32Array;
}

const BYTES_PER_ELEMENT: Record<string, number> = { F64: 8, F32: 4, F16: 2, BF16: 2, U8: 1, I8: 1 };
const MAX_HEADER_BYTES = 100 * 1024 * 1024;

interface HeaderEntry {
  dtype: string;
  shape: number[];
  data_offsets: [number, number];
}

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * 2 ** -14 * (frac / 1024);
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * 2 ** (exp - 15) * (1 + frac / 1024);
}

function decode(dtype: string, bytes: Uint8Array): Float32Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = bytes.byteLength / (BYTES_PER_ELEMENT[dtype] ?? 1);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    switch (dtype) {
      case 'F32': out[i] = view.getFloat32(i * 4, true); break;
      case 'F64': out[i] = view.getFloat64(i * 8, true); break;
      case 'F16': out[i] = halfToFloat(view.getUint16(i * 2, true)); break;
      case 'BF16': out[i] = new Float32Array(new Uint32Array([view.getUint16(i * 2, true) << 16]).buffer)[0]!; break;
      case 'U8': out[i] = view.getUint8(i); break;
      case 'I8': out[i] = view.getInt8(i); break;
    }
  }
  return out;
}

/** Parses a safetensors file (8-byte little-endian header size, JSON header, raw little-endian data). */
export function parseSafetensors(buffer: Uint8Array, source: string): Map<string, Tensor> {
  const fail = (msg: string) => new BundleError('BAD_TENSOR', `not a valid safetensors file: ${msg}`, { input: source });
  if (buffer.byteLength < 8) throw fail('shorter than its 8-byte header size');
  const headerSize = Number(new DataView(buffer.buffer, buffer.byteOffset, 8).getBigUint64(0, true));
  if (headerSize > MAX_HEADER_BYTES || 8 + headerSize > buffer.byteLength) throw fail(`header size ${headerSize} is out of range`);
  let header: Record<string, HeaderEntry | Record<string, string>>;
  try {
    header = JSON.parse(new TextDecoder().decode(buffer.subarray(8, 8 + headerSize))) as typeof header;
  } catch (e) {
    throw fail(`header is not JSON (${(e as Error).message})`);
  }
  const data = buffer.subarray(8 + headerSize);
  const tensors = new Map<string, Tensor>();
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const { dtype, shape, data_offsets: offsets } = entry as HeaderEntry;
    const size = BYTES_PER_ELEMENT[dtype];
    if (size === undefined) throw fail(`tensor ${name} has unsupported dtype ${dtype}`);
    if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) throw fail(`tensor ${name} has a bad shape`);
    const count = shape.reduce((a, b) => a * b, 1);
    const [begin, end] = offsets ?? [];
    if (!Number.isInteger(begin) || !Number.isInteger(end) || begin! < 0 || end! > data.byteLength || end! - begin! !== count * size) {
      throw fail(`tensor ${name} has data offsets that do not match its shape and dtype`);
    }
    tensors.set(name, { shape, data: decode(dtype, data.subarray(begin!, end!)) });
  }
  return tensors;
}
