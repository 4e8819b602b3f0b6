import { readFile } from 'node:fs/promises';
import { dirname, extname, resolve } from 'node:path';

import { embeddedPromptOfFile } from '@clip-agiqa/core';
import { Semaphore } from '@clip-agiqa/core/internal';

import { CliUsageError } from './io.js';

export const PROMPT_FLAGS_HELP = `  --prompt TEXT          the prompt every image was generated from (scored by clipscore and alignment heads)
  --prompts FILE         each image's prompt: a .json object {"PATH": "prompt", ...} or a .csv with
                         path and prompt columns; paths relative to FILE
  --no-metadata-prompt   do not read prompts that ComfyUI or Automatic1111 wrote into PNG files
  --clipscore-scale S    clipscore's weight: hessel (2.5 * max(cos, 0), default) or torchmetrics (100 *)`;

export const PROMPT_FLAGS = {
  prompt: { type: 'string' },
  prompts: { type: 'string' },
  'no-metadata-prompt': { type: 'boolean', default: false },
  'clipscore-scale': { type: 'string', default: 'hessel' },
} as const;

/** A prompts file: absolute image path -> prompt. */
async function readPromptsFile(file: string): Promise<Map<string, string>> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new CliUsageError(`--prompts: cannot read ${file} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  const base = dirname(resolve(file));
  const entries: [string, unknown][] = [];
  const ext = extname(file).toLowerCase();
  if (ext === '.json') {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (e) {
      throw new CliUsageError(`--prompts: ${file} is not JSON: ${(e as Error).message}`);
    }
    if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new CliUsageError(`--prompts: ${file} must hold one object {"PATH": "prompt", ...}`);
    entries.push(...Object.entries(json));
  } else if (ext === '.csv') {
    const { parseCsv } = await import('@clip-agiqa/train');
    let rows: string[][];
    try {
      rows = parseCsv(text);
    } catch (e) {
      throw new CliUsageError(`--prompts: ${file}: ${(e as Error).message}`);
    }
    const header = rows[0]?.map((h) => h.trim().toLowerCase()) ?? [];
    const [p, q] = [header.indexOf('path'), header.indexOf('prompt')];
    if (p < 0 || q < 0) throw new CliUsageError(`--prompts: ${file} needs a header row with path and prompt columns`);
    for (const row of rows.slice(1)) entries.push([row[p] ?? '', row[q]]);
  } else {
    throw new CliUsageError(`--prompts: ${file} must be a .json or .csv file`);
  }
  const prompts = new Map<string, string>();
  for (const [path, prompt] of entries) {
    if (typeof prompt !== 'string') throw new CliUsageError(`--prompts: the prompt of ${path} in ${file} is not a string`);
    if (path.trim() === '') throw new CliUsageError(`--prompts: ${file} has a row without a path`);
    prompts.set(resolve(base, path), prompt);
  }
  return prompts;
}

export interface PromptFlags {
  prompt?: string | undefined;
  prompts?: string | undefined;
  'no-metadata-prompt'?: boolean | undefined;
}

/**
 * Each file's prompt, in order of `files`: its --prompts entry, else --prompt, else the prompt a generator
 * wrote into the PNG (unless --no-metadata-prompt). `unmatched` counts --prompts entries that name no file.
 */
export async function promptsOf(files: readonly string[], flags: PromptFlags): Promise<{ prompts: (string | undefined)[]; unmatched: number }> {
  const byPath = flags.prompts === undefined ? new Map<string, string>() : await readPromptsFile(flags.prompts);
  const seen = new Set<string>();
  const reads = new Semaphore(16);
  const prompts = await Promise.all(files.map(async (file) => {
    const path = resolve(file);
    const listed = byPath.get(path);
    if (listed !== undefined) {
      seen.add(path);
      return listed;
    }
    if (flags.prompt !== undefined) return flags.prompt;
    if (flags['no-metadata-prompt'] || extname(file).toLowerCase() !== '.png') return undefined;
    // An unreadable file has no prompt here; scoring reports why it cannot be read.
    return (await reads.run(() => embeddedPromptOfFile(file)).catch(() => undefined))?.prompt;
  }));
  return { prompts, unmatched: [...byPath.keys()].filter((p) => !seen.has(p)).length };
}
