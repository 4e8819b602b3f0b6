import { jsonLineLog, type Log, type LogLine } from '@clip-agiqa/core/internal';

export type { Log, LogLine };

/** One JSON object per line on stderr, with the time first. */
export const stderrLog: Log = jsonLineLog();

/** Query values and user info of every URL in a text, replaced by `***`: callback URLs often carry a token. */
export function maskUrls(text: string): string {
  return text.replace(/\b(https?:\/\/)([^/\s"@]*@)?([^\s"?#]*)(\?[^\s"#]*)?/gi, (_m, scheme: string, userinfo: string | undefined, rest: string, query: string | undefined) =>
    `${scheme}${userinfo ? '***@' : ''}${rest}${query ? query.replace(/=([^&]*)/g, '=***') : ''}`);
}

function maskValue(v: unknown): unknown {
  if (typeof v === 'string') return maskUrls(v);
  if (Array.isArray(v)) return v.map(maskValue);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, maskValue(x)]));
  return v;
}

/** A log that masks URL tokens in every value before writing. */
export const masked = (log: Log): Log => (line) => log(maskValue(line) as LogLine);
