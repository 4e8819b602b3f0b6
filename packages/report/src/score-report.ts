import { decide, type FilterPolicy, type RankedResult, type ScoreRecord } from '@clip-agiqa/core';

import { esc, num, page, table } from './html.js';
import { renderModelStamp, type ModelStamp } from './model-stamp.js';
import { SCORE_SCRIPT, SCORE_STYLE } from './score-page-assets.js';
import { histogram, type Cut } from './svg.js';
import type { Thumbnail } from './thumbnails.js';

export interface ReportHead {
  name: string;
  /** Default true. */
  higherIsBetter?: boolean;
  /** The head's MOS scale: the histogram's x range when given. */
  scoreRange?: readonly [number, number];
}

export type ReportCut = Pick<FilterPolicy, 'threshold' | 'topK' | 'topPercent'>;

export interface ScoreReportData {
  title?: string;
  /** In input order: `clip-agiqa score --json` lines (schemas/score-record.schema.json). */
  records: readonly ScoreRecord[];
  /** Default: every head a scored record has (in the order first met), higher is better. */
  heads?: readonly ReportHead[];
  /** The head that ranks and cuts (default the first). */
  rankHead?: string;
  /** What passes. Without one, records that carry `passed` are split by it; otherwise nothing is cut. */
  cut?: ReportCut;
  model?: ModelStamp;
  /** The run's summary line; made from the records when absent. */
  summary?: string;
  generatedAt?: string;
  /** Thumbnails by record path. */
  thumbnails?: ReadonlyMap<string, Thumbnail>;
  /** Notes shown under the summary, e.g. why some thumbnails are missing. */
  notes?: string[];
}

type Scored = Extract<ScoreRecord, { scores: unknown }>;
type Failed = Extract<ScoreRecord, { error: unknown }>;

export interface ScorePartition {
  head: ReportHead & { higherIsBetter: boolean };
  heads: ReportHead[];
  ranked: (RankedResult & { record: Scored })[];
  /** Null when nothing is cut. */
  passed: Set<number> | null;
  failed: Failed[];
  cuts: Cut[];
}

/** Ranks the records and applies the cut with core's filter semantics, so the page agrees with score/serve. */
export function partitionRecords(d: ScoreReportData): ScorePartition {
  const scored = d.records.filter((r): r is Scored => 'scores' in r);
  const failed = d.records.filter((r): r is Failed => 'error' in r);
  const heads = [...(d.heads ?? [...new Set(scored.flatMap((r) => Object.keys(r.scores)))].map((name) => ({ name })))];
  const found = heads.find((h) => h.name === (d.rankHead ?? heads[0]?.name));
  const head = { higherIsBetter: true, ...(found ?? { name: d.rankHead ?? 'score' }) };
  const better = head.higherIsBetter ? '≥' : '≤';
  const results = scored.map((r, index) => ({ id: r.path, index, scores: r.scores as Record<string, number>, record: r }));
  const cut = d.cut ?? {};
  const isCut = cut.threshold !== undefined || cut.topK !== undefined || cut.topPercent !== undefined;
  const decision = decide(results, isCut ? { threshold: cut.threshold, topK: cut.topK, topPercent: cut.topPercent } : {}, [head]);
  const ranked = decision.order.map((i, r) => ({ ...results[i]!, rank: r + 1 }));
  const cuts: Cut[] = [];
  let passed: Set<number> | null = null;
  if (isCut) {
    passed = new Set(decision.passed);
    if (cut.threshold !== undefined) cuts.push({ kind: 'threshold', value: cut.threshold, label: `threshold ${better} ${num(cut.threshold)}` });
    const n = ranked.length;
    const maxRank = Math.min(cut.topK ?? n, cut.topPercent === undefined ? n : Math.ceil((cut.topPercent / 100) * n - 1e-9));
    if (maxRank > 0 && maxRank < n) {
      const a = ranked[maxRank - 1]!.scores[head.name]!;
      const b = ranked[maxRank]!.scores[head.name]!;
      const byK = cut.topK !== undefined && maxRank === cut.topK;
      const label = `${byK ? `top ${cut.topK}` : `top ${cut.topPercent}%`}: ${better} ${num(a)}`;
      cuts.push({ kind: byK ? 'top-k' : 'top-percent', value: (a + b) / 2, label });
    }
  } else if (scored.some((r) => r.passed !== undefined)) {
    passed = new Set(results.filter((r) => r.record.passed).map((r) => r.index));
  }
  return { head, heads, ranked, passed, failed, cuts };
}

function summaryLine(p: ScorePartition): string {
  const s = p.ranked.map((r) => r.scores[p.head.name]!);
  const stats = s.length
    ? `; ${p.head.name} mean ${num(s.reduce((a, b) => a + b, 0) / s.length)}, min ${num(Math.min(...s))}, max ${num(Math.max(...s))}`
    : '';
  const passed = p.passed ? `; ${p.passed.size} passed, ${p.ranked.length - p.passed.size} rejected` : '';
  return `${p.ranked.length} scored, ${p.failed.length} failed${stats}${passed}`;
}

/** Longest prompt shown in full on the page; a longer one is cut there, and its whole text is the tooltip. */
export const PROMPT_SHOWN = 300;

/** An image's prompt: escaped, cut to PROMPT_SHOWN characters, the full text on hover. */
function promptHtml(prompt: string | undefined, tag: 'p' | 'span'): string {
  if (prompt === undefined) return '';
  const chars = [...prompt]; // code points: a cut never splits a surrogate pair
  const shown = chars.length > PROMPT_SHOWN ? `${chars.slice(0, PROMPT_SHOWN - 1).join('')}…` : prompt;
  return `<${tag} class="prompt" title="${esc(prompt)}">${esc(shown)}</${tag}>`;
}

/** Every head's score of an image, for the page's script to sort by (absent: a head that did not score it). */
const scoresAttr = (r: ScorePartition['ranked'][number]) => ` data-scores="${esc(JSON.stringify(r.scores))}"`;

function headList(r: ScorePartition['ranked'][number], p: ScorePartition): string {
  if (p.heads.length < 2) return '';
  return `<dl class="heads">${p.heads.map((h) => `<div data-head="${esc(h.name)}"><dt>${esc(h.name)}</dt><dd>${num(r.scores[h.name])}</dd></div>`).join('')}</dl>`;
}

function card(r: ScorePartition['ranked'][number], p: ScorePartition, thumb: Thumbnail | undefined): string {
  const score = r.scores[p.head.name]!;
  const verdict = p.passed ? (p.passed.has(r.index) ? 'passed' : 'rejected') : 'ranked';
  const img = thumb && 'dataUri' in thumb
    ? `<img src="${thumb.dataUri}" width="${thumb.width}" height="${thumb.height}" loading="lazy" decoding="async" alt="${esc(r.record.path)}, ${esc(p.head.name)} ${num(score)}, rank ${r.rank}">`
    : `<div class="noimg" role="img" aria-label="no thumbnail">${esc(thumb && 'missing' in thumb ? thumb.missing : 'no thumbnail')}</div>`;
  return `<figure class="card ${verdict}" data-rank="${r.rank}" data-score="${score}"${scoresAttr(r)} data-path="${esc(r.record.path)}" data-verdict="${verdict}">${img}` +
    `<figcaption><span class="rank">#${r.rank}</span> <strong class="score">${num(score)}</strong>` +
    `${p.passed ? ` <span class="badge ${verdict === 'passed' ? 'pass' : 'fail'}">${verdict === 'passed' ? 'pass' : 'reject'}</span>` : ''}` +
    `${headList(r, p) || '<br>'}<span class="path">${esc(r.record.path)}</span>${promptHtml(r.record.prompt, 'p')}</figcaption></figure>`;
}

function sheet(id: string, heading: string, items: ScorePartition['ranked'], p: ScorePartition, thumbs: ReadonlyMap<string, Thumbnail> | undefined): string {
  const cards = items.map((r) => card(r, p, thumbs?.get(r.record.path))).join('\n');
  return `<section id="${id}" aria-labelledby="${id}-h"><h2 id="${id}-h">${esc(heading)} <span class="muted">(${items.length})</span></h2>` +
    (items.length ? `<div class="sheet">\n${cards}\n</div>` : '<p class="muted">None.</p>') + '</section>';
}

export function renderScoreReport(d: ScoreReportData): string {
  const p = partitionRecords(d);
  const title = d.title ?? 'CLIP-AGIQA scores';
  const passedList = p.passed ? p.ranked.filter((r) => p.passed!.has(r.index)) : [];
  const rejectedList = p.passed ? p.ranked.filter((r) => !p.passed!.has(r.index)) : [];
  const charts = p.heads.map((h) => {
    const values = p.ranked.map((r) => r.scores[h.name]!).filter((v) => v !== undefined);
    const isRank = h.name === p.head.name;
    return `<figure class="chart" data-head="${esc(h.name)}">${histogram({
      title: `Histogram of ${h.name} scores`, xLabel: `${h.name} score`, values, ...(h.scoreRange ? { domain: h.scoreRange } : {}), cuts: isRank ? p.cuts : [],
    })}<figcaption>${esc(h.name)}: ${values.length} scores${isRank && p.cuts.length ? `; dashed line: ${esc(p.cuts.map((c) => c.label).join(', '))}` : ''}</figcaption></figure>`;
  }).join('\n');
  const headCols = p.heads.map((h) => `#${h.name}`);
  const withPrompts = p.ranked.some((r) => r.record.prompt !== undefined);
  const rows = p.ranked.map((r) => {
    const verdict = p.passed ? (p.passed.has(r.index) ? '<span class="pass">pass</span>' : '<span class="fail">reject</span>') : '';
    return [String(r.rank), `<span class="path">${esc(r.record.path)}</span>`, ...(withPrompts ? [promptHtml(r.record.prompt, 'span')] : []),
      ...p.heads.map((h) => num(r.scores[h.name], 4)), ...(p.passed ? [verdict] : [])];
  });
  // The contact sheet sorts by any head, best first on that head's side (the ranking head's order is the rank).
  const headSorts = p.heads.filter((h) => h.name !== p.head.name)
    .map((h) => `<option value="head:${esc(h.name)}" data-higher="${h.higherIsBetter ?? true}">by ${esc(h.name)}, best first</option>`).join('');
  const failedRows = p.failed.map((f) => [`<span class="path">${esc(f.path)}</span>`, `<code>${esc(f.error.code)}</code>`, esc(f.error.message)]);
  const sections = p.passed
    ? sheet('passed', 'Passed', passedList, p, d.thumbnails) + sheet('rejected', 'Rejected', rejectedList, p, d.thumbnails)
    : sheet('ranked', 'Ranked', p.ranked, p, d.thumbnails);
  const body = `<header><h1>${esc(title)}</h1>
<p class="summary" id="summary">${esc(d.summary ?? summaryLine(p))}</p>
${renderModelStamp(d.model, [['ranked by', `${esc(p.head.name)} (${p.head.higherIsBetter ? 'higher' : 'lower'} is better)`], ...(d.generatedAt ? [['generated', esc(d.generatedAt)] as [string, string]] : [])])}
${(d.notes ?? []).map((n) => `<p class="note">${esc(n)}</p>`).join('\n')}
<nav aria-label="sections"><ul><li><a href="#histograms">Histograms</a></li>${p.passed ? '<li><a href="#passed">Passed</a></li><li><a href="#rejected">Rejected</a></li>' : '<li><a href="#ranked">Ranked</a></li>'}<li><a href="#failed">Failed (${p.failed.length})</a></li><li><a href="#table">Table</a></li></ul></nav>
</header>
<main>
<section id="histograms" aria-labelledby="histograms-h"><h2 id="histograms-h">Histograms</h2><div class="charts">${charts}</div></section>
<div class="controls" id="controls" hidden><label>Filter by path <input type="search" id="filter"></label>
<label>Sort <select id="sort"><option value="rank">by ${esc(p.head.name)} (rank)</option>${headSorts}<option value="rank-desc">worst first</option><option value="path">by path</option></select></label></div>
${sections}
<section id="failed" aria-labelledby="failed-h"><h2 id="failed-h">Failed <span class="muted">(${p.failed.length})</span></h2>
${p.failed.length ? table(`${p.failed.length} input${p.failed.length === 1 ? '' : 's'} that could not be scored`, ['path', 'error code', 'message'], failedRows, ' id="failed-table"') : '<p class="muted">None.</p>'}</section>
<section id="table" aria-labelledby="table-h"><h2 id="table-h">All scores</h2>
${table(`${p.ranked.length} scored images, best first by ${p.head.name}`, ['#rank', 'path', ...(withPrompts ? ['prompt'] : []), ...headCols, ...(p.passed ? ['verdict'] : [])], rows,
    ' id="scores-table"', p.ranked.map(scoresAttr))}</section>
</main>`;
  return page({ title, body, style: SCORE_STYLE, script: SCORE_SCRIPT });
}
