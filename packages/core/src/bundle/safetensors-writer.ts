import { UsageError } from '../errors.js';

/** Serialises float32 tensors as a safetensors file (the header padded with spaces to 8 bytes). */
export function writeSafetensors(tensors: Map<string, { shape: number[]; data: Float32Array }>, metadata: Record<string, string> = {}): Buffer {
  const header: Record<string, unknown> = Object.keys(metadata).length ? { __metadata__: metadata } : {};
  let offset = 0;
  const names = [...tensors.keys()].sort();
  for (const name of names) {
    const t = tensors.get(name)!;
    if (t.data.length !== t.shape.reduce((a, b) => a * b, 1)) throw new UsageError('SHAPE_MISMATCH', `tensor ${name}: ${t.data.length} values for shape [${t.shape}]`);
    header[name] = { dtype: 'F32', shape: t.shape, data_offsets: [offset, offset + t.data.byteLength] };
    offset += t.data.byteLength;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8);
  const size = Buffer.alloc(8);
  size.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  return Buffer.concat([size, Buffer.from(json), ...names.map((n) => {
    const d = tensors.get(n)!.data;
    return Buffer.from(d.buffer, d.byteOffset, d.byteLength);
  })]);
}
