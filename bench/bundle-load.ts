// What a start pays to verify a bundle: loadBundle of the benchmark's ViT-B/16-sized bundle with an empty
// record of verified files (every file hashed), then again (each file checked by a stat), best of N each.
//   node --import tsx bench/bundle-load.ts [--model DIR] [--rounds N]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { loadBundle } from '@clip-agiqa/core';

import { cpuInfo, describeCpu } from './cpu.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({ options: { model: { type: 'string', default: join(ROOT, '.cache/bench/vit-b-16') }, rounds: { type: 'string', default: '3' } } });

async function timed(cacheDir: string): Promise<number> {
  const started = performance.now();
  await loadBundle(values.model, { cacheDir });
  return performance.now() - started;
}

const first: number[] = [];
const again: number[] = [];
for (let round = 0; round < Number(values.rounds); round++) {
  const cacheDir = mkdtempSync(join(tmpdir(), 'clip-agiqa-bench-verified-'));
  try {
    first.push(await timed(cacheDir));
    again.push(await timed(cacheDir));
  } finally {
    rmSync(cacheDir, { recursive: true, force: true });
  }
}
console.log(describeCpu(cpuInfo()));
console.log(`loadBundle ${values.model}: first load (hashes every file) ${Math.min(...first).toFixed(0)} ms, later loads (a stat per file) ${Math.min(...again).toFixed(0)} ms (best of ${values.rounds})`);
