import { ClipAgiqaError, scoreRecordSchema, type ScoreRecord } from '@clip-agiqa/core';
import { compileSchema } from '@clip-agiqa/core/internal';

const validateRecord = compileSchema<ScoreRecord>(scoreRecordSchema);

/**
 * Reads `clip-agiqa score --json` output: one score record per line, blank lines ignored. Every bad line
 * is reported at once (up to 10 shown) as a SCHEMA_VIOLATION, instead of a report of part of the run.
 */
export function parseScoreRecords(text: string, source: string): ScoreRecord[] {
  const records: ScoreRecord[] = [];
  const problems: string[] = [];
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      problems.push(`line ${i + 1}: not JSON`);
      return;
    }
    const checked = validateRecord(value);
    if (checked.ok) records.push(checked.value);
    else problems.push(`line ${i + 1}: not a score record (${checked.errors.slice(0, 2).join('; ')})`);
  });
  if (problems.length) {
    const more = problems.length > 10 ? `; and ${problems.length - 10} more` : '';
    throw new ClipAgiqaError('SCHEMA_VIOLATION', `${problems.length} bad line${problems.length === 1 ? '' : 's'}: ${problems.slice(0, 10).join('; ')}${more}`, { input: source });
  }
  if (!records.length) throw new ClipAgiqaError('EMPTY_INPUT', 'no score records', { input: source });
  return records;
}
