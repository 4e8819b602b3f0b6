/** HTML building blocks shared by every report: escaping, the page shell and its stylesheet. */

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Escapes text for HTML content and double- or single-quoted attribute values. */
export function esc(value: unknown): string {
  return String(value).replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

/** A number for display: fixed decimals, an en dash for missing or NaN. */
export function num(x: number | undefined | null, digits = 3): string {
  return x === undefined || x === null || !Number.isFinite(x) ? '–' : x.toFixed(digits);
}

export interface PageOptions {
  title: string;
  body: string;
  /** Inline script that enhances the page; the page reads fine without it. */
  script?: string;
  /** Extra CSS for this report kind. */
  style?: string;
  /** Seconds between reloads (status pages). */
  refreshSeconds?: number;
}

// Colours meet WCAG AA contrast (4.5:1) on their backgrounds; pass/fail are also told apart by text, not colour alone.
const BASE_STYLE = `
:root { color-scheme: light; --fg: #1b1f24; --muted: #57606a; --bg: #ffffff; --panel: #f6f8fa; --line: #d0d7de;
  --pass: #116329; --fail: #a40e26; --accent: #0550ae; --warn: #7d4e00; }
* { box-sizing: border-box; }
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: var(--bg); margin: 0 auto; max-width: 1280px; padding: 16px 24px 48px; }
h1 { font-size: 1.5rem; margin: 0 0 4px; } h2 { font-size: 1.2rem; margin: 28px 0 8px; border-bottom: 1px solid var(--line); padding-bottom: 4px; }
h3 { font-size: 1rem; margin: 16px 0 6px; }
.summary { font-weight: 600; margin: 6px 0 12px; }
.muted { color: var(--muted); }
.stamp { display: flex; flex-wrap: wrap; gap: 4px 20px; margin: 0 0 8px; padding: 8px 12px; background: var(--panel); border: 1px solid var(--line); border-radius: 6px; }
.stamp div { display: flex; gap: 6px; } .stamp dt { color: var(--muted); } .stamp dd { margin: 0; font-weight: 600; overflow-wrap: anywhere; }
.badge { display: inline-block; padding: 0 6px; border-radius: 4px; font-size: .85em; font-weight: 700; border: 1px solid currentColor; }
.badge.pass, .pass { color: var(--pass); } .badge.fail, .fail { color: var(--fail); } .badge.warn { color: var(--warn); }
.note { border-left: 4px solid var(--warn); background: #fff8c5; padding: 6px 10px; margin: 8px 0; }
nav ul { list-style: none; display: flex; flex-wrap: wrap; gap: 4px 16px; padding: 0; margin: 8px 0; }
a { color: var(--accent); }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; margin: 4px 0 12px; }
caption { text-align: left; font-weight: 600; padding: 4px 0; caption-side: top; }
th, td { border-bottom: 1px solid var(--line); padding: 3px 8px; text-align: left; vertical-align: top; }
th { background: var(--panel); }
td.n, th.n { text-align: right; }
td.path { overflow-wrap: anywhere; }
figure.chart { margin: 8px 0; } figure.chart svg { max-width: 100%; height: auto; display: block; }
figcaption { color: var(--muted); font-size: .9em; }
.charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(420px, 1fr)); gap: 8px 24px; }
svg text { font: 12px system-ui, sans-serif; fill: var(--fg); }
svg .axis { stroke: var(--muted); } svg .grid { stroke: var(--line); }
svg .cut text, svg .marker text { paint-order: stroke; stroke: #fff; stroke-width: 4px; stroke-linejoin: round; font-weight: 600; }
.controls { display: flex; flex-wrap: wrap; gap: 8px 16px; align-items: center; margin: 8px 0; }
.controls[hidden] { display: none; }
`;

export function page(o: PageOptions): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src 'unsafe-inline'">
${o.refreshSeconds ? `<meta http-equiv="refresh" content="${o.refreshSeconds}">\n` : ''}<title>${esc(o.title)}</title>
<style>${BASE_STYLE}${o.style ?? ''}</style>
</head>
<body>
${o.body}
${o.script ? `<script>${o.script}</script>\n` : ''}</body>
</html>
`;
}

/** A definition list of label → value pairs, as the model stamp and run facts show. */
export function stamp(label: string, pairs: [string, string][]): string {
  return `<dl class="stamp" aria-label="${esc(label)}">${pairs.map(([k, v]) => `<div><dt>${esc(k)}</dt><dd>${v}</dd></div>`).join('')}</dl>`;
}

/**
 * A table with a caption; `cells` are already HTML. Columns whose header starts with '#' are numeric.
 * `rowAttrs` are attributes of each row's <tr> (already escaped), e.g. data the page's script sorts by.
 */
export function table(caption: string, headers: string[], rows: string[][], attrs = '', rowAttrs: readonly string[] = []): string {
  const cls = (h: string) => (h.startsWith('#') ? ' class="n"' : '');
  const head = headers.map((h) => `<th scope="col"${cls(h)}>${esc(h.replace(/^#/, ''))}</th>`).join('');
  const body = rows.map((r, k) => `<tr${rowAttrs[k] ?? ''}>${r.map((c, i) => `<td${cls(headers[i] ?? '')}>${c}</td>`).join('')}</tr>`).join('\n');
  return `<table${attrs}><caption>${esc(caption)}</caption><thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table>`;
}
