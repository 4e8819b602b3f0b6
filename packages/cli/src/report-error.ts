import { isClipAgiqaError, isUsageError } from '@clip-agiqa/core/errors';

import type { CliIO } from './io.js';

/**
 * What the user sees of an error, and the exit status: a usage error (bad flag, missing operand, unknown
 * command) exits 2 with the usage hint; an error of the SDK exits 1 with its code, on one line; anything
 * else is a bug or a system error: one line too, and its stack only with --verbose.
 */
export function reportError(e: unknown, io: CliIO, verbose = false): number {
  const stack = verbose && e instanceof Error && e.stack ? `${e.stack}\n` : '';
  if (isUsageError(e) || (e as NodeJS.ErrnoException | undefined)?.code?.startsWith?.('ERR_PARSE_ARGS')) {
    io.stderr.write(`clip-agiqa: ${(e as Error).message}\nRun clip-agiqa --help for usage.\n${stack}`);
    return 2;
  }
  if (isClipAgiqaError(e)) {
    io.stderr.write(`clip-agiqa: [${e.code}] ${e.message}\n${stack}`);
    return 1;
  }
  const message = e instanceof Error ? e.message : String(e);
  io.stderr.write(`clip-agiqa: ${message}\n${stack || 'Run again with --verbose for the stack trace.\n'}`);
  return 1;
}
