import type { ScoreRecord } from '@clip-agiqa/core';

function csvField(v: string | number | boolean | undefined): string {
  if (v === undefined) return '';
  const s = String(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** Which optional columns a table has: passed (with a threshold), rank (with --top), prompt (when images have prompts). */
export interface Columns {
  passed: boolean;
  rank: boolean;
  prompt: boolean;
}

export function csvHeader(heads: string[], c: Columns): string {
  return ['path', ...heads, ...(c.passed ? ['passed'] : []), ...(c.rank ? ['rank'] : []), ...(c.prompt ? ['prompt'] : []), 'error_code', 'error_message'].join(',') + '\n';
}

export function csvRow(r: ScoreRecord, heads: string[], c: Columns): string {
  const ok = 'scores' in r;
  const cells = [
    r.path,
    ...heads.map((h) => (ok ? r.scores[h] : undefined)),
    ...(c.passed ? [ok ? r.passed : undefined] : []),
    ...(c.rank ? [ok ? r.rank : undefined] : []),
    ...(c.prompt ? [ok ? r.prompt : undefined] : []),
    ok ? undefined : r.error.code,
    ok ? undefined : r.error.message,
  ];
  return cells.map(csvField).join(',') + '\n';
}

/** Each score's column: 4 decimals, at least 9 wide, as wide as its head's name. */
const columnWidth = (head: string) => Math.max(9, head.length);

/** The line naming each score column, when there are several heads (one head needs no legend). */
export function textHeader(heads: string[]): string {
  return heads.length > 1 ? `${heads.map((h) => h.padStart(columnWidth(h))).join(' ')}  path\n` : '';
}

export function textRow(r: ScoreRecord, heads: string[]): string {
  if (!('scores' in r)) return `${'ERROR'.padStart(9)}  ${r.path}  [${r.error.code}] ${r.error.message}\n`;
  // A prompt head has no score for an image without a prompt.
  const scores = heads.map((h) => (r.scores[h]?.toFixed(4) ?? '-').padStart(columnWidth(h))).join(' ');
  const mark = r.passed === undefined ? '' : r.passed ? '  pass' : '  FAIL';
  const rank = r.rank === undefined ? '' : `#${r.rank}  `;
  return `${scores}${mark}  ${rank}${r.path}\n`;
}
