/** Image container formats the scorer decodes by default. */
export const SAFE_FORMATS = ['jpeg', 'png', 'webp', 'avif', 'heif', 'tiff', 'gif'] as const;
/** Formats that can reference external resources (files, URLs) and so are refused unless enabled. */
export const UNSAFE_FORMATS = ['svg', 'pdf'] as const;

export type SafeFormat = (typeof SAFE_FORMATS)[number];
export type UnsafeFormat = (typeof UNSAFE_FORMATS)[number];
export type SniffedFormat = SafeFormat | UnsafeFormat | 'unknown';

function ascii(bytes: Uint8Array, start: number, end: number): string {
  return String.fromCharCode(...bytes.subarray(start, end));
}

const HEIF_BRANDS: Record<string, SafeFormat> = {
  avif: 'avif', avis: 'avif', mif1: 'heif', msf1: 'heif', heic: 'heif', heix: 'heif', hevc: 'heif', heim: 'heif',
};

/** Identifies an image container from its first bytes; extensions and declared types are never trusted. */
export function sniffFormat(bytes: Uint8Array): SniffedFormat {
  const b = bytes;
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'jpeg';
  if (b.length >= 8 && ascii(b, 0, 8) === '\x89PNG\r\n\x1a\n') return 'png';
  if (b.length >= 6 && (ascii(b, 0, 6) === 'GIF87a' || ascii(b, 0, 6) === 'GIF89a')) return 'gif';
  if (b.length >= 12 && ascii(b, 0, 4) === 'RIFF' && ascii(b, 8, 12) === 'WEBP') return 'webp';
  if (b.length >= 4 && (ascii(b, 0, 4) === 'II*\0' || ascii(b, 0, 4) === 'MM\0*')) return 'tiff';
  if (b.length >= 12 && ascii(b, 4, 8) === 'ftyp') return HEIF_BRANDS[ascii(b, 8, 12)] ?? 'unknown';
  if (b.length >= 5 && ascii(b, 0, 5) === '%PDF-') return 'pdf';
  const head = new TextDecoder('utf-8', { fatal: false }).decode(b.subarray(0, 4096)).replace(/^\uFEFF/, '').trimStart();
  if (/^<(\?xml|!DOCTYPE\s+svg|svg[\s>])/i.test(head) && /<svg[\s>]/i.test(head)) return 'svg';
  return 'unknown';
}

export function isUnsafeFormat(f: SniffedFormat): f is UnsafeFormat {
  return (UNSAFE_FORMATS as readonly string[]).includes(f);
}
