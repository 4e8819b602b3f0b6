import type { RawPixels } from '@clip-agiqa/core';

import { thumbnail, type Thumbnail } from './thumbnails.js';

/** One answered request, as a status page lists it. */
export interface VerdictEntry {
  time: string;
  /** Who it belongs to: a webhook route or a bridge client. Pages filter on it for tenant isolation. */
  scope: string;
  id: string;
  /** e.g. "filter: 3 of 8 passed", "best: #2". */
  verdict: string;
  /** The ranking head's score per image, in input order (null: the image failed). */
  scores: (number | null)[];
  /** Indexes of images that passed or were picked. */
  kept: number[];
  thumbnails: Thumbnail[];
}

export interface ErrorEntry {
  time: string;
  scope: string;
  code: string;
  message: string;
}

export interface ActivitySnapshot {
  recent: VerdictEntry[];
  errors: ErrorEntry[];
  /** Images scored in the last minute, and over the process's life. */
  imagesLastMinute: number;
  imagesTotal: number;
  requestsTotal: number;
}

export interface ActivityOptions {
  /** Verdicts kept per scope (default 20). */
  recent?: number;
  /** Errors kept per scope (default 20). */
  errors?: number;
  /** Thumbnails made per verdict (default 4; 0 for none). */
  thumbnailsPerVerdict?: number;
  /** Long side of those thumbnails (default 96). */
  thumbnailSize?: number;
  /** Scopes remembered (default 100); the one least recently active is forgotten first. Bounds memory whatever names clients pick. */
  maxScopes?: number;
  now?: () => number;
  /** Called when a verdict's thumbnails are ready (all of them at once). */
  onThumbnails?: (entry: VerdictEntry) => void;
}

type ImageBytes = Uint8Array | RawPixels;

/**
 * What a status page shows, kept in memory: the latest verdicts and errors per scope (bounded rings),
 * and scored-image timestamps for throughput. Thumbnails are made off the request path, one verdict at a
 * time, newest first (the order the page lists them in); only the newest verdict waiting keeps its image
 * bytes, so a burst lists older verdicts without thumbnails rather than queueing images.
 */
export class ServiceActivity {
  private readonly verdicts = new Map<string, VerdictEntry[]>();
  private readonly errors = new Map<string, ErrorEntry[]>();
  /** Per scope: when each image was scored (last minute only), and lifetime totals. */
  private readonly counts = new Map<string, { scoredAt: number[]; images: number; requests: number }>();
  private thumbnailing = false;
  /** The newest verdict still without thumbnails, with its images (one set of image bytes held at most). */
  private waiting: { entry: VerdictEntry; images: readonly ImageBytes[] } | null = null;
  private readonly o: Required<Omit<ActivityOptions, 'now' | 'onThumbnails'>> & Pick<ActivityOptions, 'onThumbnails'> & { now: () => number };

  constructor(o: ActivityOptions = {}) {
    this.o = { recent: 20, errors: 20, thumbnailsPerVerdict: 4, thumbnailSize: 96, maxScopes: 100, now: Date.now, ...o };
  }

  /** Recording order of every entry: newest first even within one millisecond. */
  private readonly order = new WeakMap<object, number>();
  private recorded = 0;

  private push<T extends object>(map: Map<string, T[]>, scope: string, entry: T, max: number): void {
    this.order.set(entry, ++this.recorded);
    const ring = map.get(scope) ?? [];
    ring.unshift(entry);
    if (ring.length > max) ring.length = max;
    this.touch(map, scope, ring);
  }

  /** Sets `scope` as the most recently active entry of `map`, forgetting the least recent beyond maxScopes. */
  private touch<T>(map: Map<string, T>, scope: string, value: T): void {
    map.delete(scope);
    map.set(scope, value);
    if (map.size > this.o.maxScopes) map.delete(map.keys().next().value!);
  }

  /** Records an answered request; `images` (the request's, in order) are thumbnailed when the page is idle. */
  recordVerdict(entry: Omit<VerdictEntry, 'time' | 'thumbnails'>, images: readonly ImageBytes[] = []): void {
    const now = this.o.now();
    const full: VerdictEntry = { ...entry, time: new Date(now).toISOString(), thumbnails: [] };
    this.push(this.verdicts, entry.scope, full, this.o.recent);
    const c = this.counts.get(entry.scope) ?? { scoredAt: [], images: 0, requests: 0 };
    c.requests++;
    c.images += entry.scores.length;
    for (let i = 0; i < entry.scores.length; i++) c.scoredAt.push(now);
    this.touch(this.counts, entry.scope, c);
    this.trim(c.scoredAt, now);
    const wanted = images.slice(0, this.o.thumbnailsPerVerdict);
    if (!wanted.length) return;
    // The newest verdict waiting replaces an older one: thumbnails fill the page from its top row down.
    this.waiting = { entry: full, images: wanted };
    void this.makeThumbnails();
  }

  /** One verdict at a time; each row gets all its thumbnails at once, in image order. */
  private async makeThumbnails(): Promise<void> {
    if (this.thumbnailing) return;
    this.thumbnailing = true;
    try {
      while (this.waiting) {
        const { entry, images } = this.waiting;
        this.waiting = null;
        const made: Thumbnail[] = [];
        for (const image of images) {
          made.push(await thumbnail(image, { size: this.o.thumbnailSize, quality: 55 }));
          if (this.waiting) break; // a newer verdict came: it is listed above this one, so it goes first
        }
        if (made.length < images.length) continue;
        entry.thumbnails = made;
        this.o.onThumbnails?.(entry);
      }
    } finally {
      this.thumbnailing = false;
    }
  }

  recordError(scope: string, code: string, message: string): void {
    this.push(this.errors, scope, { time: new Date(this.o.now()).toISOString(), scope, code, message: message.slice(0, 500) }, this.o.errors);
  }

  private trim(times: number[], now: number): void {
    let drop = 0;
    while (drop < times.length && times[drop]! < now - 60_000) drop++;
    if (drop) times.splice(0, drop);
  }

  /** The activity of the given scopes (all when omitted), newest first. */
  snapshot(scopes?: readonly string[]): ActivitySnapshot {
    const now = this.o.now();
    const mine = [...this.counts].filter(([s]) => !scopes || scopes.includes(s)).map(([, c]) => c);
    for (const c of mine) this.trim(c.scoredAt, now);
    const pick = <T extends object>(map: Map<string, T[]>, max: number) =>
      [...map].filter(([s]) => !scopes || scopes.includes(s)).flatMap(([, ring]) => ring)
        .sort((a, b) => this.order.get(b)! - this.order.get(a)!).slice(0, max);
    return {
      recent: pick(this.verdicts, this.o.recent),
      errors: pick(this.errors, this.o.errors),
      imagesLastMinute: mine.reduce((n, c) => n + c.scoredAt.length, 0),
      imagesTotal: mine.reduce((n, c) => n + c.images, 0),
      requestsTotal: mine.reduce((n, c) => n + c.requests, 0),
    };
  }
}
