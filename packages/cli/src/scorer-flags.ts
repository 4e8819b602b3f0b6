import {
  createScorer, DEMO_MODEL_DIR, DEVICES, PRECISIONS, untrainedWarning, type Device, type Precision, type Scorer, type ScorerOptions,
} from '@clip-agiqa/core';

import { CliUsageError, parseNumber, positiveInteger, type CliIO } from './io.js';
import { hubPrefixHint } from './hub-id-hint.js';
import { downloadProgress } from './progress.js';

/** The flags that pick and run a model, the same for every command that scores (parseArgs options). */
export const SCORER_FLAGS = {
  model: { type: 'string' },
  device: { type: 'string', default: 'cpu' },
  threads: { type: 'string' },
  precision: { type: 'string', default: 'fp32' },
} as const;

export const SCORER_FLAGS_HELP = `  --model DIR|URL        model bundle folder or published bundle URL (default: the untrained demo model)
  --device D             cpu (default), cuda, webgpu or auto
  --threads N            CPU threads for inference
  --precision P          image tower precision the bundle ships: fp32 (default), int8, fp16, bf16`;

export interface ScorerFlags {
  model?: string | undefined;
  device?: string | undefined;
  threads?: string | undefined;
  precision?: string | undefined;
}

/** --threads, checked: a positive integer or nothing. */
export const threadsFlag = (flags: ScorerFlags) => parseNumber('threads', flags.threads, positiveInteger, 'a positive integer');

/** The flags checked (usage errors), for commands that check everything before any slow work. */
export function checkScorerFlags(flags: ScorerFlags): { device: Device; precision: Precision; threads: number | undefined } {
  const device = (flags.device ?? 'cpu') as Device;
  const precision = (flags.precision ?? 'fp32') as Precision;
  if (!DEVICES.includes(device)) throw new CliUsageError(`--device must be one of ${DEVICES.join(', ')}`);
  if (!PRECISIONS.includes(precision)) throw new CliUsageError(`--precision must be one of ${PRECISIONS.join(', ')}`);
  return { device, precision, threads: threadsFlag(flags) };
}

/**
 * The scorer the flags ask for (the demo model without --model), after checking them; warns on stderr,
 * once, when the model is untrained. `options` adds what only some commands set (batch size, limits...).
 */
export async function scorerFromFlags(flags: ScorerFlags, io: CliIO, options: Omit<ScorerOptions, 'model' | 'device' | 'threads' | 'precision'> = {}): Promise<Scorer> {
  const { device, precision, threads } = checkScorerFlags(flags);
  const hint = flags.model === undefined ? null : hubPrefixHint(flags.model, (id) => `--model ${id}`);
  if (hint) throw hint;
  // Native log lines only with --verbose; a model downloaded on first use shows its progress on a terminal.
  const onDownloadProgress = downloadProgress(io.stderr);
  const scorer = await createScorer({
    ...options, model: flags.model ?? DEMO_MODEL_DIR, device, precision, ...(threads ? { threads } : {}),
    nativeLogs: io.verbose === true, ...(onDownloadProgress ? { onDownloadProgress } : {}),
    onWarning: (message) => io.stderr.write(`clip-agiqa: warning: ${message}\n`),
  });
  const warning = untrainedWarning(scorer.model);
  if (warning) io.stderr.write(`clip-agiqa: ${warning}${flags.model ? '' : ' (no --model given: the demo model)'}.\n`);
  return scorer;
}
