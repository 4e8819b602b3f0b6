import { ClipAgiqaError } from '../errors.js';
import { sniffFormat } from '../image/sniff.js';
import { pngChunk, pngChunks } from './png-chunks.js';

/** PNG text keyword and XMP namespace under which scores are recorded. */
export const METADATA_KEY = 'clip-agiqa';
export const XMP_NAMESPACE = 'https://clip-agiqa.dev/ns/1.0/';
const XMP_SIGNATURE = 'http://ns.adobe.com/xap/1.0/\0';

/** An image whose structure leaves no safe place to record scores. */
export class MetadataError extends ClipAgiqaError<'METADATA_UNWRITABLE'> {
  constructor(message: string) {
    super('METADATA_UNWRITABLE', message);
  }
}

/** Adds (or replaces) an uncompressed iTXt chunk `clip-agiqa` holding `text`, before IEND. Pixels are untouched. */
export function withPngText(png: Buffer, text: string): Buffer {
  const parts: Buffer[] = [png.subarray(0, 8)];
  for (const chunk of pngChunks(png, () => new MetadataError('PNG chunk runs past the end of the file'))) {
    const ours = (chunk.type === 'iTXt' || chunk.type === 'tEXt') && chunk.data.subarray(0, METADATA_KEY.length + 1).equals(Buffer.from(`${METADATA_KEY}\0`, 'latin1'));
    if (chunk.type === 'IEND') {
      parts.push(pngChunk('iTXt', Buffer.concat([Buffer.from(`${METADATA_KEY}\0\0\0\0\0`, 'latin1'), Buffer.from(text, 'utf8')])));
      parts.push(png.subarray(chunk.start, chunk.end));
      return Buffer.concat(parts);
    }
    if (!ours) parts.push(png.subarray(chunk.start, chunk.end));
  }
  throw new MetadataError('PNG has no IEND chunk');
}

function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function ourDescription(text: string): string {
  return `<rdf:Description rdf:about="" xmlns:agiqa="${XMP_NAMESPACE}"><agiqa:record>${escapeXml(text)}</agiqa:record></rdf:Description>`;
}

/** A fresh XMP packet, or `existing` with our rdf:Description added (an older one of ours replaced). */
export function xmpWithRecord(text: string, existing?: string): string {
  if (existing !== undefined) {
    const cleaned = existing.replace(new RegExp(`<rdf:Description[^>]*xmlns:agiqa="${XMP_NAMESPACE.replace(/[.]/g, '\\.')}"[^>]*>[\\s\\S]*?</rdf:Description>`, 'g'), '');
    if (!cleaned.includes('</rdf:RDF>')) throw new MetadataError('existing XMP packet has no rdf:RDF element');
    return cleaned.replace('</rdf:RDF>', `${ourDescription(text)}</rdf:RDF>`);
  }
  return `<?xpacket begin="\uFEFF" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/">` +
    `<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">${ourDescription(text)}</rdf:RDF></x:xmpmeta><?xpacket end="w"?>`;
}

/** Adds the record to a JPEG's XMP (APP1) segment, creating one after the JFIF/EXIF segments if needed. */
export function withJpegXmp(jpeg: Buffer, text: string): Buffer {
  let offset = 2;
  let insertAt = 2;
  let existing: { start: number; end: number; packet: string } | undefined;
  while (offset + 4 <= jpeg.length && jpeg[offset] === 0xff) {
    const marker = jpeg[offset + 1]!;
    if (marker === 0xda || marker === 0xd9) break; // start of scan / end of image
    const length = jpeg.readUInt16BE(offset + 2);
    const end = offset + 2 + length;
    if (end > jpeg.length) throw new MetadataError('JPEG segment runs past the end of the file');
    if (marker === 0xe1 && jpeg.toString('latin1', offset + 4, offset + 4 + XMP_SIGNATURE.length) === XMP_SIGNATURE) {
      existing = { start: offset, end, packet: jpeg.toString('utf8', offset + 4 + XMP_SIGNATURE.length, end) };
    }
    if (marker === 0xe0 || marker === 0xe1) insertAt = end;
    offset = end;
  }
  const payload = Buffer.concat([Buffer.from(XMP_SIGNATURE, 'latin1'), Buffer.from(xmpWithRecord(text, existing?.packet), 'utf8')]);
  if (payload.length + 2 > 0xffff) throw new MetadataError('XMP packet would exceed a JPEG segment (64 KiB)');
  const header = Buffer.from([0xff, 0xe1, 0, 0]);
  header.writeUInt16BE(payload.length + 2, 2);
  const segment = Buffer.concat([header, payload]);
  if (existing) return Buffer.concat([jpeg.subarray(0, existing.start), segment, jpeg.subarray(existing.end)]);
  return Buffer.concat([jpeg.subarray(0, insertAt), segment, jpeg.subarray(insertAt)]);
}

/** Writes `text` into the image's own metadata without re-encoding it (PNG iTXt, JPEG XMP). */
export function withScoreMetadata(image: Buffer, text: string): Buffer {
  const format = sniffFormat(image);
  if (format === 'png') return withPngText(image, text);
  if (format === 'jpeg') return withJpegXmp(image, text);
  throw new MetadataError(`cannot write metadata into ${format} files without re-encoding them; use --sidecar`);
}
