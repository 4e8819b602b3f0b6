import { access, constants, mkdir, stat } from 'node:fs/promises';

import { MAX_COMFY_SEED, type Seed } from '@clip-agiqa/comfyui';

import { CliUsageError } from '../io.js';

/** --max-seed: 1 to ComfyUI's 2^64 - 1 (KSampler's maximum), refused here rather than after ComfyUI was contacted. */
export function parseMaxSeed(value: string | undefined): Seed | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  const n = /^\d+$/.test(text) ? BigInt(text) : null;
  if (n === null || n < 1n || n > MAX_COMFY_SEED) {
    throw new CliUsageError(`--max-seed must be a whole number from 1 to ${MAX_COMFY_SEED} (ComfyUI's seed range), got ${JSON.stringify(value)}`);
  }
  return n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n;
}

/** --host: one ComfyUI or several separated by commas, each its http(s) URL; says what is wrong with one that is not. */
export function parseHosts(value: string): string[] {
  const hosts = value.split(',').map((h) => h.trim());
  const fix = 'use its http address, e.g. http://127.0.0.1:8188';
  for (const h of hosts) {
    if (!h) throw new CliUsageError(`--host: an empty entry in ${JSON.stringify(value)} (separate servers with single commas)`);
    let url: URL;
    try {
      url = new URL(h);
    } catch {
      throw new CliUsageError(`--host ${h}: not a URL: ${fix}`);
    }
    if (url.protocol === 'ws:' || url.protocol === 'wss:') throw new CliUsageError(`--host ${h}: ComfyUI is addressed by its http URL, not its websocket: ${fix}`);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new CliUsageError(`--host ${h}: not an http(s) URL${/^[\w.-]+:\d+$/.test(h) ? ` (did you mean http://${h}?)` : ''}: ${fix}`);
    }
    if (url.search || url.hash || url.username) throw new CliUsageError(`--host ${h}: a query, fragment or credentials cannot be part of it: ${fix}`);
  }
  const seen = new Set<string>();
  for (const h of hosts) {
    const key = new URL(h).href.replace(/\/+$/, '');
    if (seen.has(key)) throw new CliUsageError(`--host: ${h} is named twice`);
    seen.add(key);
  }
  return hosts;
}

/** --out: a folder that can be written, created now, so a run is never lost to a bad path at its end. */
export async function checkOutDir(dir: string | undefined): Promise<void> {
  if (dir === undefined) return;
  const existing = await stat(dir).catch(() => null);
  if (existing && !existing.isDirectory()) throw new CliUsageError(`--out ${dir}: a file is in the way (name a folder)`);
  try {
    await mkdir(dir, { recursive: true });
    await access(dir, constants.W_OK);
  } catch (e) {
    throw new CliUsageError(`--out ${dir}: cannot write there (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
}
