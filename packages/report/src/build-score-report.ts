import { partitionRecords, renderScoreReport, type ScoreReportData } from './score-report.js';
import { thumbnails, THUMBNAIL_DEFAULTS, type Thumbnail, type ThumbnailOptions } from './thumbnails.js';

export interface BuildScoreReportOptions extends ThumbnailOptions {
  /** Where a record's image is now (default: its path as recorded); null skips its thumbnail. */
  locate?: (recordPath: string) => string | null;
  /** No thumbnails at all. */
  noThumbnails?: boolean;
}

/**
 * The score report with thumbnails, best first: when the count cap or byte budget is reached the
 * remaining (lowest-ranked) images are listed in the table without one, and the page says how many.
 */
export async function buildScoreReport(data: ScoreReportData, o: BuildScoreReportOptions = {}): Promise<string> {
  if (o.noThumbnails) return renderScoreReport(data);
  const ranked = partitionRecords(data).ranked.map((r) => r.record.path);
  const located = ranked.map((p) => (o.locate ? o.locate(p) : p));
  const wanted = located.flatMap((p, i) => (p === null ? [] : [{ path: ranked[i]!, file: p }]));
  const set = await thumbnails(wanted.map((w) => w.file), o);
  const map = new Map<string, Thumbnail>(wanted.map((w, i) => [w.path, set.thumbnails[i]!]));
  const missing = set.thumbnails.filter((t) => 'missing' in t && t.missing === 'image no longer at this path').length;
  const notes = [...(data.notes ?? [])];
  if (set.overBudget) {
    notes.push(`${set.overBudget} of ${ranked.length} images have no thumbnail: a report embeds at most ${o.maxCount ?? THUMBNAIL_DEFAULTS.maxCount} ` +
      `thumbnails and ${((o.maxBytes ?? THUMBNAIL_DEFAULTS.maxBytes) / 2 ** 20).toFixed(0)} MiB of them, best-ranked first; every image is still in the table.`);
  }
  if (missing) notes.push(`${missing} images are no longer at their recorded path and are shown without a thumbnail.`);
  return renderScoreReport({ ...data, thumbnails: map, notes });
}
