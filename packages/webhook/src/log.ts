import { jsonLineLog, type Log, type LogLine } from '@clip-agiqa/core/internal';

export type { Log, LogLine };

/** One JSON object per line on stderr, with the time first. */
export const stderrLog: Log = jsonLineLog();

/** A query (`?a=1&b`) with every value, and every bare item, replaced by `***`. */
const maskedQuery = (query: string) => `?${query.slice(1).split('&').map((part) => (part.includes('=') ? `${part.slice(0, part.indexOf('='))}=***` : part && '***')).join('&')}`;

/** Query values and user info of every URL in a text, replaced by `***`: callback URLs often carry a token. */
export function maskUrls(text: string): string {
  return text.replace(/\b(https?:\/\/)([^/\s"@]*@)?([^\s"?#]*)(\?[^\s"#]*)?/gi, (_m, scheme: string, userinfo: string | undefined, rest: string, query: string | undefined) =>
    `${scheme}${userinfo ? '***@' : ''}${rest}${query ? maskedQuery(query) : ''}`);
}

/** A request target (`/path?query`) with its query masked, for logs: senders put tokens there. */
export function maskTarget(target: string): string {
  const at = target.search(/[?#]/);
  return at < 0 ? target : `${target.slice(0, at)}${target[at] === '?' ? maskedQuery(target.slice(at).split('#', 1)[0]!) : ''}`;
}

function maskValue(v: unknown): unknown {
  if (typeof v === 'string') return maskUrls(v);
  if (Array.isArray(v)) return v.map(maskValue);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, maskValue(x)]));
  return v;
}

/** A log that masks URL tokens in every value before writing. */
export const masked = (log: Log): Log => (line) => log(maskValue(line) as LogLine);
