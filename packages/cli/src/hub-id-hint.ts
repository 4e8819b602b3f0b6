import { existsSync } from 'node:fs';

import { CliUsageError } from './io.js';

// OWNER/NAME[@REVISION], relative, two parts: how a Hugging Face hub id reads, and how few local paths do.
const HUB_ID = /^[A-Za-z0-9][\w.-]*\/[\w.-]+(@[\w./-]+)?$/;

/**
 * A model argument that names nothing on this machine but reads as a hub id written without its `hf:`
 * prefix: the usage error that says how to write it (`fixed` shows the corrected command), else null.
 */
export function hubPrefixHint(value: string, fixed: (hubId: string) => string): CliUsageError | null {
  if (!HUB_ID.test(value) || existsSync(value)) return null;
  return new CliUsageError(`no folder ${value} here; for the model on the Hugging Face hub write hf:${value}: ${fixed(`hf:${value}`)}`);
}
