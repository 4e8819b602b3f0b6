import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, join } from 'node:path';
import { parseArgs } from 'node:util';

import { parseScoreRecords } from '@clip-agiqa/report';

import { writeScoreReport } from '../html-report.js';
import { CliUsageError, parseNumber, positiveInteger, type CliIO } from '../io.js';

export const REPORT_USAGE = `Usage: clip-agiqa report RESULTS.jsonl --html FILE [options]

Turns saved \`clip-agiqa score --json\` lines (- reads standard input) into one self-contained HTML page:
thumbnails ranked by score, histograms with the cut drawn, passed and rejected, failed inputs. Images are
looked up at their recorded path (then beside RESULTS.jsonl); those gone are listed without a thumbnail.

Options:
  --html FILE          where to write the page (required)
  --head NAME          head to rank and cut by (default: the first)
  --lower-is-better    that head ranks lower scores first
  --threshold X        pass images whose score reaches X
  --top K              pass the K best      --top-percent P  pass the best P%
                       (without a cut, records that carry "passed" are split by it)
  --title TEXT         page title
  --no-thumbnails      list images without thumbnails (smallest page)`;

const options = {
  html: { type: 'string' }, head: { type: 'string' }, 'lower-is-better': { type: 'boolean', default: false },
  threshold: { type: 'string' }, top: { type: 'string' }, 'top-percent': { type: 'string' }, title: { type: 'string' },
  'no-thumbnails': { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h', default: false },
} as const;

async function readSource(path: string): Promise<string> {
  if (path !== '-') return readFile(path, 'utf8');
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export async function reportCommand(argv: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  if (values.help) {
    io.stdout.write(`${REPORT_USAGE}\n`);
    return 0;
  }
  if (positionals.length !== 1) throw new CliUsageError('report needs exactly one RESULTS.jsonl (or - for standard input)');
  if (!values.html) throw new CliUsageError('report needs --html FILE');
  const threshold = parseNumber('threshold', values.threshold, () => true, 'a number');
  const topK = parseNumber('top', values.top, positiveInteger, 'a positive integer');
  const topPercent = parseNumber('top-percent', values['top-percent'], (n) => n >= 0 && n <= 100, 'a percentage within 0-100');
  const source = positionals[0]!;
  if (source !== '-' && !existsSync(source)) throw new CliUsageError(`no such file: ${source}`);

  const records = parseScoreRecords(await readSource(source), source === '-' ? 'standard input' : source);
  const heads = [...new Set(records.flatMap((r) => ('scores' in r ? Object.keys(r.scores) : [])))];
  const rankHead = values.head ?? heads[0];
  if (values.head && !heads.includes(values.head)) throw new CliUsageError(`--head: no head named ${values.head} in ${source} (heads: ${heads.join(', ')})`);
  const higherIsBetter = !values['lower-is-better'];
  const recorded = records.find((r) => 'model' in r && r.model);
  const model = recorded && 'model' in recorded && recorded.model
    ? { name: recorded.model.name, digest: recorded.model.manifest_sha256, ...(recorded.model.trained === undefined ? {} : { kind: recorded.model.trained ? 'trained' as const : 'untrained' as const }) }
    : undefined;
  const besideResults = source === '-' ? null : dirname(source);
  const locate = (path: string) => {
    if (existsSync(path)) return path;
    const beside = besideResults && !isAbsolute(path) ? join(besideResults, path) : null;
    return beside && existsSync(beside) ? beside : path;
  };
  const bytes = await writeScoreReport(values.html, {
    records, heads: heads.map((name) => ({ name, higherIsBetter: name === rankHead ? higherIsBetter : true })), ...(rankHead ? { rankHead } : {}),
    cut: { ...(threshold !== undefined ? { threshold } : {}), ...(topK !== undefined ? { topK } : {}), ...(topPercent !== undefined ? { topPercent } : {}) },
    ...(model ? { model } : {}), ...(values.title ? { title: values.title } : {}),
  }, { locate, noThumbnails: values['no-thumbnails'] });
  io.stderr.write(`clip-agiqa: wrote ${values.html} (${records.length} records, ${(bytes / 1024).toFixed(0)} KiB)\n`);
  return 0;
}
