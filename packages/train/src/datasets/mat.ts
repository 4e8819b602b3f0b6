import { inflateSync } from 'node:zlib';

import { ClipAgiqaError } from '@clip-agiqa/core';

/**
 * A reader for the numeric arrays of MATLAB level-5 MAT-files (what `save` writes by default, compressed
 * or not): enough for the MOS files datasets ship. Returns each real numeric array by name, as float64
 * in column-major order with its dimensions.
 */
export interface MatArray {
  dims: number[];
  data: Float64Array;
}

/** A MAT-file this reader cannot parse. */
export class MatFileError extends ClipAgiqaError<'BAD_MAT_FILE'> {
  constructor(message: string) {
    super('BAD_MAT_FILE', message);
  }
}

const MI = { INT8: 1, UINT8: 2, INT16: 3, UINT16: 4, INT32: 5, UINT32: 6, SINGLE: 7, DOUBLE: 9, INT64: 12, UINT64: 13, MATRIX: 14, COMPRESSED: 15 } as const;
const NUMERIC_CLASSES = new Set([6, 7, 8, 9, 10, 11, 12, 13, 14, 15]); // double, single, int8 ... uint64

interface Element {
  type: number;
  data: Buffer;
  next: number;
}

function readElement(buf: Buffer, offset: number, little: boolean): Element {
  const u32 = (o: number) => (little ? buf.readUInt32LE(o) : buf.readUInt32BE(o));
  if (offset + 8 > buf.length) throw new MatFileError(`truncated element at byte ${offset}`);
  const first = u32(offset);
  if (first >>> 16 !== 0) {
    // Small data element: type and size share the first word, the data fits in the second.
    const size = first >>> 16;
    return { type: first & 0xffff, data: buf.subarray(offset + 4, offset + 4 + size), next: offset + 8 };
  }
  const size = u32(offset + 4);
  const end = offset + 8 + size;
  if (end > buf.length) throw new MatFileError(`element at byte ${offset} runs past the end of the file`);
  const padded = first === MI.COMPRESSED ? end : offset + 8 + Math.ceil(size / 8) * 8;
  return { type: first, data: buf.subarray(offset + 8, end), next: padded };
}

function numbers(type: number, data: Buffer, little: boolean): Float64Array {
  const read: Record<number, [number, (o: number) => number]> = {
    [MI.INT8]: [1, (o) => data.readInt8(o)],
    [MI.UINT8]: [1, (o) => data.readUInt8(o)],
    [MI.INT16]: [2, (o) => (little ? data.readInt16LE(o) : data.readInt16BE(o))],
    [MI.UINT16]: [2, (o) => (little ? data.readUInt16LE(o) : data.readUInt16BE(o))],
    [MI.INT32]: [4, (o) => (little ? data.readInt32LE(o) : data.readInt32BE(o))],
    [MI.UINT32]: [4, (o) => (little ? data.readUInt32LE(o) : data.readUInt32BE(o))],
    [MI.SINGLE]: [4, (o) => (little ? data.readFloatLE(o) : data.readFloatBE(o))],
    [MI.DOUBLE]: [8, (o) => (little ? data.readDoubleLE(o) : data.readDoubleBE(o))],
    [MI.INT64]: [8, (o) => Number(little ? data.readBigInt64LE(o) : data.readBigInt64BE(o))],
    [MI.UINT64]: [8, (o) => Number(little ? data.readBigUInt64LE(o) : data.readBigUInt64BE(o))],
  };
  const reader = read[type];
  if (!reader) throw new MatFileError(`unsupported numeric data type ${type}`);
  const [size, get] = reader;
  const out = new Float64Array(data.length / size);
  for (let i = 0; i < out.length; i++) out[i] = get(i * size);
  return out;
}

function readMatrix(data: Buffer, little: boolean): { name: string; array: MatArray } | null {
  const flags = readElement(data, 0, little);
  const dims = readElement(data, flags.next, little);
  const name = readElement(data, dims.next, little);
  const cls = numbers(MI.UINT32, flags.data, little)[0]! & 0xff;
  const isComplex = ((numbers(MI.UINT32, flags.data, little)[0]! >>> 8) & 0x08) !== 0;
  if (!NUMERIC_CLASSES.has(cls) || isComplex) return null;
  const real = readElement(data, name.next, little);
  return {
    name: name.data.toString('latin1'),
    array: { dims: [...numbers(dims.type, dims.data, little)], data: numbers(real.type, real.data, little) },
  };
}

export function readMatFile(buf: Buffer): Map<string, MatArray> {
  if (buf.length < 128) throw new MatFileError('shorter than a MAT-file header');
  const endian = buf.toString('latin1', 126, 128);
  if (endian !== 'IM' && endian !== 'MI') throw new MatFileError('not a level-5 MAT-file (no endian indicator)');
  const little = endian === 'IM';
  const out = new Map<string, MatArray>();
  const walk = (body: Buffer, start: number) => {
    for (let offset = start; offset < body.length; ) {
      const el = readElement(body, offset, little);
      if (el.type === MI.COMPRESSED) walk(inflateSync(el.data), 0);
      else if (el.type === MI.MATRIX) {
        const m = readMatrix(el.data, little);
        if (m) out.set(m.name, m.array);
      }
      offset = el.next;
    }
  };
  walk(buf, 128);
  return out;
}
