
import { sharp, sniffFormat, SAFE_FORMATS, type SniffedFormat } from '@clip-agiqa/core/internal';

import { FetchError, HttpError } from '../errors.js';
import { safeFetch, type SafeFetchOptions } from '../net/safe-fetch.js';
import { FairGate, type Claim } from './fair-gate.js';
import type { MemoryBudget, Reservation } from './memory-budget.js';

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

/** An image in hand: its bytes, its pixel count (from the header) and the memory it holds until `release`. */
export interface HeldImage {
  bytes: Buffer;
  pixels: number;
  release(): void;
}

/** Downloads at once, and how many of them only synchronous requests may use. */
export const DOWNLOAD_SLOTS = 16;
const DOWNLOAD_SLOTS_FOR_SYNC = 4;

/**
 * Where images come from, within the memory budget: a download first reserves the most it may take
 * (fetch.max_bytes) and keeps what it took; an image's header is read before anything is decoded, so
 * one over the pixel limit is refused without decoding it. Download slots are shared fairly: a
 * synchronous request's downloads go first and have slots of their own, queued jobs take turns by route.
 */
export class ImageSource {
  readonly downloads = new FairGate({ capacity: DOWNLOAD_SLOTS, reservedForSync: DOWNLOAD_SLOTS_FOR_SYNC, busyCode: 'DOWNLOADS_BUSY', what: 'the image download slots' });

  constructor(private readonly fetchOptions: SafeFetchOptions, private readonly budget: MemoryBudget, private readonly maxPixels: number) {}

  /** The pixel count of an image from its header; TOO_MANY_PIXELS over the limit, CORRUPT_IMAGE when there is no readable header. */
  async pixels(bytes: Buffer, name: string): Promise<number> {
    let meta;
    try {
      meta = await sharp(bytes, { limitInputPixels: false }).metadata();
    } catch (e) {
      throw new FetchError('CORRUPT_IMAGE', `${name}: no readable image header (${(e as Error).message})`);
    }
    const pixels = (meta.width ?? 0) * (meta.height ?? 0);
    if (pixels > this.maxPixels) throw new FetchError('TOO_MANY_PIXELS', `${name}: ${meta.width}x${meta.height} = ${pixels} pixels, over the limit of ${this.maxPixels}`);
    return pixels;
  }

  /** Downloads an image URL through the address guard, holding its bytes in the budget until released. */
  download(url: string, claim: Claim): Promise<HeldImage> {
    return this.downloads.run(claim, async () => {
      const hold: Reservation = await this.budget.reserve(this.fetchOptions.maxBytes, { waitMs: claim.waitMs, sync: claim.sync, what: `a download of up to ${this.fetchOptions.maxBytes} bytes` });
      try {
        const r = await safeFetch(url, this.fetchOptions);
        if (r.status < 200 || r.status >= 300) throw new FetchError('HTTP_STATUS', `${url}: HTTP ${r.status}`);
        const format = unsupportedFormat(r.body);
        if (format) throw new FetchError('NOT_AN_IMAGE', `${url}: the body is not a supported image (${format})`);
        hold.shrink(r.body.length);
        return { bytes: r.body, pixels: await this.pixels(r.body, url), release: () => hold.release() };
      } catch (e) {
        hold.release();
        throw e;
      }
    });
  }
}
