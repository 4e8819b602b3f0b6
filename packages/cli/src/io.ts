import { UsageError } from '@clip-agiqa/core/errors';

/** Where a command writes: injectable so tests can run commands in-process. */
export interface CliIO {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WriteStream;
  /** --verbose: native libraries' own log lines and stack traces are shown. */
  verbose?: boolean;
}

export const processIO = (): CliIO => ({ stdout: process.stdout, stderr: process.stderr });

/** A command-line mistake: printed with the usage hint, exit status 2. */
export class CliUsageError extends UsageError<'INVALID_ARGUMENT'> {
  constructor(message: string) {
    super('INVALID_ARGUMENT', message);
  }
}

export function parseNumber(name: string, value: string | undefined, check: (n: number) => boolean, what: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || !check(n)) throw new CliUsageError(`--${name} must be ${what}, got ${JSON.stringify(value)}`);
  return n;
}

export const positiveInteger = (n: number) => Number.isInteger(n) && n > 0;

/** Exit status of a run that worked but in which nothing passed the gate (opt-in: --fail-if-none-pass). */
export const EXIT_NONE_PASSED = 3;

