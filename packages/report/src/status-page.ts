import type { ActivitySnapshot } from './activity.js';
import { esc, num, page, stamp, table } from './html.js';
import { renderModelStamp, type ModelStamp } from './model-stamp.js';

export interface StatusPageData {
  /** e.g. "clip-agiqa bridge". */
  service: string;
  /** What the page is limited to, e.g. "route fal-prod"; absent for the whole service. */
  scope?: string;
  model?: ModelStamp;
  startedAt: string;
  now: string;
  /** Queue depth, in flight, clients…: label → value. */
  gauges: [string, string | number][];
  activity: ActivitySnapshot;
  /** The page reloads itself this often (default 10 s; 0: never). */
  refreshSeconds?: number;
}

const STATUS_STYLE = `
.gauges { display: grid; grid-template-columns: repeat(auto-fill, minmax(170px, 1fr)); gap: 8px; margin: 8px 0; padding: 0; list-style: none; }
.gauges li { background: var(--panel); border: 1px solid var(--line); border-radius: 6px; padding: 8px 12px; }
.gauges .v { display: block; font-size: 1.5rem; font-weight: 700; font-variant-numeric: tabular-nums; }
.thumbs { display: flex; gap: 4px; flex-wrap: wrap; } .thumbs img { height: 56px; width: auto; border: 2px solid var(--line); border-radius: 3px; }
.thumbs img.kept { border-color: var(--pass); }
`;

function uptime(startedAt: string, now: string): string {
  const s = Math.max(0, Math.round((Date.parse(now) - Date.parse(startedAt)) / 1000));
  return s < 120 ? `${s} s` : s < 7200 ? `${Math.round(s / 60)} min` : `${(s / 3600).toFixed(1)} h`;
}

const plural = (n: number, what: string) => `${n} ${what}${n === 1 ? '' : 's'}`;

/** The read-only status page of a running service; pure: everything shown comes in `d`. */
export function renderStatusPage(d: StatusPageData): string {
  const a = d.activity;
  const title = `${d.service} status${d.scope ? ` (${d.scope})` : ''}`;
  const gauges: [string, string | number][] = [
    ...d.gauges,
    ['images / s (last minute)', num(a.imagesLastMinute / 60, 2)],
    ['images scored', a.imagesTotal],
    ['requests answered', a.requestsTotal],
    ['errors (recent)', a.errors.length],
  ];
  const recentRows = a.recent.map((v) => {
    const thumbs = v.thumbnails.map((t, i) => ('dataUri' in t
      ? `<img src="${t.dataUri}" width="${t.width}" height="${t.height}" class="${v.kept.includes(i) ? 'kept' : ''}" alt="image ${i + 1}${v.kept.includes(i) ? ', kept' : ''}, score ${num(v.scores[i] ?? undefined)}">`
      : '')).join('');
    const scores = v.scores.map((s, i) => (s === null ? '<span class="fail">failed</span>' : `${v.kept.includes(i) ? '<strong>' : ''}${num(s)}${v.kept.includes(i) ? '</strong>' : ''}`)).join(', ');
    return [esc(v.time.slice(11, 19)), esc(v.scope), `<code>${esc(v.id)}</code>`, esc(v.verdict), scores, `<div class="thumbs">${thumbs}</div>`];
  });
  const errorRows = a.errors.map((e) => [esc(e.time.slice(11, 19)), esc(e.scope), `<code>${esc(e.code)}</code>`, esc(e.message)]);
  const refresh = d.refreshSeconds ?? 10;
  const body = `<header><h1>${esc(title)}</h1>
<p class="summary" id="summary">Up ${uptime(d.startedAt, d.now)}; ${a.requestsTotal} requests, ${a.imagesTotal} images scored, ${num(a.imagesLastMinute / 60, 2)} images/s over the last minute.</p>
${renderModelStamp(d.model)}
${stamp('page', [['as of', esc(d.now)], ['reloads', refresh ? `every ${refresh} s` : 'never'], ['shows', esc(d.scope ?? 'the whole service')]])}
</header>
<main>
<section aria-labelledby="now-h"><h2 id="now-h">Now</h2><ul class="gauges" id="gauges">${gauges.map(([k, v]) => `<li><span class="v">${esc(v)}</span>${esc(k)}</li>`).join('')}</ul></section>
<section aria-labelledby="recent-h"><h2 id="recent-h">Recent verdicts</h2>
${a.recent.length ? table(`The latest ${plural(a.recent.length, 'answered request')}, newest first (UTC)`, ['time', 'scope', 'request', 'verdict', 'scores', 'images'], recentRows, ' id="recent"') : '<p class="muted" id="recent-empty">No requests answered yet.</p>'}</section>
<section aria-labelledby="errors-h"><h2 id="errors-h">Errors</h2>
${a.errors.length ? table(`The latest ${plural(a.errors.length, 'error')}, newest first (UTC)`, ['time', 'scope', 'code', 'message'], errorRows, ' id="errors"') : '<p class="muted" id="errors-empty">No errors.</p>'}</section>
</main>`;
  return page({ title, body, style: STATUS_STYLE, ...(refresh ? { refreshSeconds: refresh } : {}) });
}
