/**
 * Static SVG charts drawn on the server: they show without JavaScript, from file://, in print, and cost
 * no dependency. Every chart has role="img", a <title> and a <desc>; the numbers are also in a table.
 */
import { esc, num } from './html.js';

export const PALETTE = ['#0550ae', '#bc4c00', '#116329', '#8250df', '#a40e26', '#1b7c83', '#7d4e00', '#57606a'];

interface Frame {
  width: number;
  height: number;
  left: number;
  right: number;
  top: number;
  bottom: number;
}

const FRAME: Frame = { width: 560, height: 260, left: 48, right: 16, top: 16, bottom: 40 };

/** A linear map from a data interval onto a pixel interval. */
export function scale(domain: readonly [number, number], range: readonly [number, number]): (v: number) => number {
  const [d0, d1] = domain;
  const span = d1 - d0 || 1;
  return (v) => range[0] + ((v - d0) / span) * (range[1] - range[0]);
}

/** About `count` round tick values covering [lo, hi]. */
export function ticks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? raw;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step - 1e-9) * step; v <= hi + step * 1e-9; v += step) out.push(Number(v.toFixed(10)));
  return out;
}

/** Data extent padded to a non-empty interval. */
export function extent(values: readonly number[], pad = 0): [number, number] {
  const finite = values.filter(Number.isFinite);
  if (!finite.length) return [0, 1];
  let lo = Math.min(...finite);
  let hi = Math.max(...finite);
  if (hi === lo) { lo -= 0.5; hi += 0.5; }
  const p = (hi - lo) * pad;
  return [lo - p, hi + p];
}

function tickLabel(v: number, step: number): string {
  return step >= 1 && Number.isInteger(v) ? String(v) : num(v, step >= 0.1 ? 1 : step >= 0.01 ? 2 : 3);
}

function axes(f: Frame, x: (v: number) => number, y: (v: number) => number, xTicks: number[], yTicks: number[], xLabel: string, yLabel: string): string {
  const bottom = f.height - f.bottom;
  const xStep = xTicks.length > 1 ? xTicks[1]! - xTicks[0]! : 1;
  const yStep = yTicks.length > 1 ? yTicks[1]! - yTicks[0]! : 1;
  const parts = [
    ...yTicks.map((t) => `<line class="grid" x1="${f.left}" x2="${f.width - f.right}" y1="${y(t).toFixed(1)}" y2="${y(t).toFixed(1)}"/>` +
      `<text x="${f.left - 6}" y="${(y(t) + 4).toFixed(1)}" text-anchor="end">${tickLabel(t, yStep)}</text>`),
    ...xTicks.map((t) => `<line class="axis" x1="${x(t).toFixed(1)}" x2="${x(t).toFixed(1)}" y1="${bottom}" y2="${bottom + 4}"/>` +
      `<text x="${x(t).toFixed(1)}" y="${bottom + 16}" text-anchor="middle">${tickLabel(t, xStep)}</text>`),
    `<line class="axis" x1="${f.left}" x2="${f.width - f.right}" y1="${bottom}" y2="${bottom}"/>`,
    `<line class="axis" x1="${f.left}" x2="${f.left}" y1="${f.top}" y2="${bottom}"/>`,
    `<text x="${(f.left + f.width - f.right) / 2}" y="${f.height - 6}" text-anchor="middle">${esc(xLabel)}</text>`,
    `<text transform="translate(12 ${(f.top + bottom) / 2}) rotate(-90)" text-anchor="middle">${esc(yLabel)}</text>`,
  ];
  return parts.join('\n');
}

function svg(f: Frame, title: string, desc: string, inner: string, attrs = ''): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${f.width} ${f.height}" width="${f.width}" height="${f.height}" role="img" aria-label="${esc(title)}"${attrs}>` +
    `<title>${esc(title)}</title><desc>${esc(desc)}</desc>\n${inner}\n</svg>`;
}

export interface Cut {
  /** Where on the x axis. */
  value: number;
  label: string;
  kind: string;
}

export interface HistogramOptions {
  title: string;
  xLabel: string;
  values: readonly number[];
  /** Fixed x range (the head's score range) or the data's extent. */
  domain?: readonly [number, number];
  bins?: number;
  cuts?: Cut[];
}

/** Counts per bin over [lo, hi]; the last bin is closed. */
export function binCounts(values: readonly number[], lo: number, hi: number, bins: number): number[] {
  const counts = new Array<number>(bins).fill(0);
  const w = (hi - lo) / bins || 1;
  for (const v of values) {
    if (!Number.isFinite(v)) continue;
    const b = Math.min(bins - 1, Math.max(0, Math.floor((v - lo) / w)));
    counts[b]!++;
  }
  return counts;
}

export function histogram(o: HistogramOptions): string {
  const f = FRAME;
  const bins = o.bins ?? 30;
  const data = extent(o.values);
  const cutValues = (o.cuts ?? []).map((c) => c.value);
  // The data's extent (with the cuts), padded, within the head's scale when one is given: scores often
  // cluster in a small part of the scale, and the bars should resolve them.
  let [lo, hi] = extent([...data, ...cutValues], 0.08);
  if (o.domain && o.domain[1] > o.domain[0]) [lo, hi] = [Math.max(lo, o.domain[0]), Math.min(hi, o.domain[1])];
  if (!(hi > lo)) [lo, hi] = extent([lo, hi]);
  const counts = binCounts(o.values, lo, hi, bins);
  const maxCount = Math.max(1, ...counts);
  const x = scale([lo, hi], [f.left, f.width - f.right]);
  const y = scale([0, maxCount], [f.height - f.bottom, f.top]);
  const bw = (f.width - f.left - f.right) / bins;
  const bars = counts.map((c, i) => c === 0 ? '' :
    `<rect class="bar" x="${(f.left + i * bw + 0.5).toFixed(1)}" y="${y(c).toFixed(1)}" width="${Math.max(1, bw - 1).toFixed(1)}" height="${(y(0) - y(c)).toFixed(1)}" fill="${PALETTE[0]}" fill-opacity="0.75">` +
    `<title>${num(lo + i * (hi - lo) / bins)}–${num(lo + (i + 1) * (hi - lo) / bins)}: ${c}</title></rect>`).join('');
  const cuts = (o.cuts ?? []).map((c, i) => {
    const cx = x(c.value).toFixed(1);
    return `<g class="cut" data-kind="${esc(c.kind)}" data-value="${c.value}"><line x1="${cx}" x2="${cx}" y1="${f.top - 4}" y2="${f.height - f.bottom}" stroke="#a40e26" stroke-width="2" stroke-dasharray="6 3"/>` +
      `<text x="${(Number(cx) + 4).toFixed(1)}" y="${f.top + 10 + 14 * i}" fill="#a40e26">${esc(c.label)}</text></g>`;
  }).join('');
  const yTicks = ticks(0, maxCount, 4).filter((t) => Number.isInteger(t));
  const desc = `${o.values.length} scores in ${bins} bins from ${num(lo)} to ${num(hi)}` + (o.cuts?.length ? `; cut: ${o.cuts.map((c) => c.label).join(', ')}` : '');
  return svg(f, o.title, desc, axes(f, x, y, ticks(lo, hi, 6), yTicks, o.xLabel, 'images') + bars + cuts,
    ` class="histogram" data-lo="${lo}" data-hi="${hi}" data-plot-left="${f.left}" data-plot-right="${f.width - f.right}"`);
}

export interface Series {
  name: string;
  points: { x: number; y: number }[];
  dashed?: boolean;
}

export interface LineChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
  /** A vertical marker, e.g. the selected epoch. */
  marker?: { x: number; label: string };
  yDomain?: [number, number];
}

export function lineChart(o: LineChartOptions): string {
  const f = FRAME;
  const xs = o.series.flatMap((s) => s.points.map((p) => p.x));
  const ys = o.series.flatMap((s) => s.points.map((p) => p.y));
  const [x0, x1] = extent(xs);
  const [y0, y1] = o.yDomain ?? extent(ys, 0.05);
  const x = scale([x0, x1], [f.left, f.width - f.right]);
  const y = scale([y0, y1], [f.height - f.bottom, f.top]);
  const lines = o.series.map((s, i) => {
    const pts = s.points.filter((p) => Number.isFinite(p.y));
    const d = pts.map((p, k) => `${k ? 'L' : 'M'}${x(p.x).toFixed(1)} ${y(p.y).toFixed(1)}`).join('');
    return `<path class="series" data-series="${esc(s.name)}" d="${d}" fill="none" stroke="${PALETTE[i % PALETTE.length]}" stroke-width="2"${s.dashed ? ' stroke-dasharray="5 3"' : ''}/>`;
  }).join('\n');
  const legend = o.series.map((s, i) =>
    `<g transform="translate(${f.left + 8 + i * 130} ${f.top + 4})"><line x1="0" x2="18" y1="0" y2="0" stroke="${PALETTE[i % PALETTE.length]}" stroke-width="3"${s.dashed ? ' stroke-dasharray="5 3"' : ''}/>` +
    `<text x="22" y="4">${esc(s.name)}</text></g>`).join('');
  const marker = o.marker ? (() => {
    const mx = x(o.marker.x).toFixed(1);
    return `<g class="marker" data-x="${o.marker.x}"><line x1="${mx}" x2="${mx}" y1="${f.top}" y2="${f.height - f.bottom}" stroke="#1b1f24" stroke-width="1.5" stroke-dasharray="3 3"/>` +
      `<text x="${(Number(mx) - 4).toFixed(1)}" y="${f.height - f.bottom - 6}" text-anchor="end">${esc(o.marker.label)}</text></g>`;
  })() : '';
  const desc = `${o.series.map((s) => s.name).join(', ')} against ${o.xLabel}` + (o.marker ? `; ${o.marker.label}` : '');
  return svg(f, o.title, desc, axes(f, x, y, ticks(x0, x1, 8), ticks(y0, y1, 5), o.xLabel, o.yLabel) + lines + marker + legend, ' class="line-chart"');
}

export interface ScatterOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  points: { x: number; y: number }[];
  /** A fitted curve, as points in x order (e.g. the logistic mapping sampled over the x range). */
  curve?: { name: string; points: { x: number; y: number }[] };
}

export function scatter(o: ScatterOptions): string {
  const f = { ...FRAME, height: 320 };
  const [x0, x1] = extent(o.points.map((p) => p.x), 0.03);
  const [y0, y1] = extent(o.points.map((p) => p.y), 0.03);
  const x = scale([x0, x1], [f.left, f.width - f.right]);
  const y = scale([y0, y1], [f.height - f.bottom, f.top]);
  const dots = o.points.map((p) => `<circle cx="${x(p.x).toFixed(1)}" cy="${y(p.y).toFixed(1)}" r="2.5"/>`).join('');
  let curve = '';
  if (o.curve) {
    const clampY = (v: number) => Math.min(f.height - f.bottom, Math.max(f.top, y(v)));
    const d = o.curve.points.filter((p) => Number.isFinite(p.y)).map((p, k) => `${k ? 'L' : 'M'}${x(p.x).toFixed(1)} ${clampY(p.y).toFixed(1)}`).join('');
    curve = `<path class="fit" d="${d}" fill="none" stroke="#a40e26" stroke-width="2.5"/>` +
      `<g transform="translate(${f.left + 8} ${f.top + 4})"><line x1="0" x2="18" y1="0" y2="0" stroke="#a40e26" stroke-width="3"/><text x="22" y="4">${esc(o.curve.name)}</text></g>`;
  }
  const desc = `${o.points.length} points` + (o.curve ? ` with ${o.curve.name}` : '');
  return svg(f, o.title, desc, axes(f, x, y, ticks(x0, x1, 6), ticks(y0, y1, 5), o.xLabel, o.yLabel) +
    `<g class="points" fill="${PALETTE[0]}" fill-opacity="0.45">${dots}</g>` + curve, ' class="scatter"');
}
