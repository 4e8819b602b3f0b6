import { sniffFormat, SAFE_FORMATS, type SniffedFormat } from '@clip-agiqa/core/internal';

import { FetchError, HttpError } from '../errors.js';
import { safeFetch, type SafeFetchOptions } from '../net/safe-fetch.js';

/** The sniffed container when it is not one the scorer decodes, else null. */
function unsupportedFormat(bytes: Uint8Array): SniffedFormat | null {
  const format = sniffFormat(bytes);
  return (SAFE_FORMATS as readonly string[]).includes(format) ? null : format;
}

/** Inline base64 -> bytes that look like an image, or a 4xx naming the candidate. */
export function decodeInline(b64: string, id: string, maxBytes: number): Buffer {
  const bytes = Buffer.from(b64, 'base64');
  if (bytes.length === 0) throw new HttpError(422, 'NOT_AN_IMAGE', `candidate ${id}: empty or invalid base64`);
  if (bytes.length > maxBytes) throw new HttpError(413, 'IMAGE_TOO_LARGE', `candidate ${id}: ${bytes.length} bytes exceeds the ${maxBytes}-byte limit`);
  const format = unsupportedFormat(bytes);
  if (format) throw new HttpError(422, 'NOT_AN_IMAGE', `candidate ${id}: the bytes are not a supported image (${format})`);
  return bytes;
}

export type ImageFetcher = (url: string) => Promise<Buffer>;

/** Downloads an image URL through the address guard; a non-2xx answer or bytes that are not an image are FetchErrors. */
export function imageFetcher(options: SafeFetchOptions): ImageFetcher {
  return async (url) => {
    const r = await safeFetch(url, options);
    if (r.status < 200 || r.status >= 300) throw new FetchError('HTTP_STATUS', `${url}: HTTP ${r.status}`);
    const format = unsupportedFormat(r.body);
    if (format) throw new FetchError('NOT_AN_IMAGE', `${url}: the body is not a supported image (${format})`);
    return r.body;
  };
}
