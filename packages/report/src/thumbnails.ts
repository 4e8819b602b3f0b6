import { readFile } from 'node:fs/promises';

import { DEFAULT_LIMITS, type RawPixels } from '@clip-agiqa/core';
import { Semaphore, sharp, sniffFormat, UNSAFE_FORMATS } from '@clip-agiqa/core/internal';

export interface ThumbnailOptions {
  /** Long side in pixels (default 192, at most 256). */
  size?: number;
  /** WebP quality 1-100 (default 60). */
  quality?: number;
  /** Most thumbnails one report embeds (default 2000); the rest are listed without one. */
  maxCount?: number;
  /** Most bytes of thumbnail data one report embeds (default 16 MiB); the rest are listed without one. */
  maxBytes?: number;
  /** Images decoded at once (default 4). */
  concurrency?: number;
  /** Pixels an image may have; larger ones get no thumbnail (default 64 million, the scorer's default). */
  maxPixels?: number;
}

export const THUMBNAIL_DEFAULTS = { size: 192, quality: 60, maxCount: 2000, maxBytes: 16 << 20, concurrency: 4, maxPixels: DEFAULT_LIMITS.maxPixels } as const;
export const MAX_THUMBNAIL_SIZE = 256;

export type Thumbnail = { dataUri: string; width: number; height: number } | { missing: string };

export interface ThumbnailSet {
  /** One per requested source, in order. */
  thumbnails: Thumbnail[];
  /** Sources left without one because the count or byte budget was spent. */
  overBudget: number;
  bytes: number;
}

/**
 * A small WebP data URI of one image (EXIF orientation applied). SVG and PDF are never rendered: they
 * can reference external resources and the page must not.
 */
export async function thumbnail(source: string | Uint8Array | RawPixels, o: ThumbnailOptions = {}): Promise<Thumbnail> {
  const size = Math.min(o.size ?? THUMBNAIL_DEFAULTS.size, MAX_THUMBNAIL_SIZE);
  let input: Uint8Array;
  let raw: { width: number; height: number; channels: 1 | 2 | 3 | 4 } | undefined;
  if (typeof source === 'string') {
    try {
      input = await readFile(source);
    } catch (e) {
      return { missing: (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'image no longer at this path' : `unreadable: ${(e as Error).message}` };
    }
  } else if (source instanceof Uint8Array) {
    input = source;
  } else {
    input = source.data;
    raw = { width: source.width, height: source.height, channels: source.channels };
  }
  const format = raw ? 'raw' : sniffFormat(input);
  if ((UNSAFE_FORMATS as readonly string[]).includes(format)) return { missing: `${format} is not rendered` };
  try {
    const { data, info } = await sharp(input, { limitInputPixels: o.maxPixels ?? THUMBNAIL_DEFAULTS.maxPixels, animated: false, ...(raw ? { raw } : {}) })
      .rotate()
      .resize(size, size, { fit: 'inside', withoutEnlargement: true })
      .webp({ quality: o.quality ?? THUMBNAIL_DEFAULTS.quality, effort: 2 })
      .toBuffer({ resolveWithObject: true });
    return { dataUri: `data:image/webp;base64,${data.toString('base64')}`, width: info.width, height: info.height };
  } catch (e) {
    return { missing: `could not decode: ${(e as Error).message.split('\n')[0]}` };
  }
}

/**
 * Thumbnails of many images, in the given order (put the most important first): once `maxCount`
 * thumbnails or `maxBytes` of data are embedded, the remaining sources get none.
 */
export async function thumbnails(sources: readonly (string | Uint8Array)[], o: ThumbnailOptions = {}): Promise<ThumbnailSet> {
  const maxCount = o.maxCount ?? THUMBNAIL_DEFAULTS.maxCount;
  const maxBytes = o.maxBytes ?? THUMBNAIL_DEFAULTS.maxBytes;
  const gate = new Semaphore(o.concurrency ?? THUMBNAIL_DEFAULTS.concurrency);
  const made = await Promise.all(sources.slice(0, maxCount).map((s) => gate.run(() => thumbnail(s, o))));
  const out: Thumbnail[] = [];
  let bytes = 0;
  let overBudget = 0;
  for (const t of made) {
    const size = 'dataUri' in t ? t.dataUri.length : 0;
    if (size && bytes + size > maxBytes) {
      out.push({ missing: 'over the report size budget' });
      overBudget++;
      continue;
    }
    bytes += size;
    out.push(t);
  }
  for (let i = maxCount; i < sources.length; i++) {
    out.push({ missing: 'beyond the thumbnail cap' });
    overBudget++;
  }
  return { thumbnails: out, overBudget, bytes };
}
