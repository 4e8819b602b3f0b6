// Peak RSS of scoring large PNGs with the scorer (decode + preprocessing), per megapixel: the figure
// the webhook's memory budget charges for decoding (DECODE_BYTES_PER_PIXEL in jobs/memory-cost.ts).
// Each measurement runs in a fresh child process, so one run's freed-but-retained heap cannot hide
// the next one's peak.
//   node --import tsx bench/decode-memory.ts [--sides 2000,4000,8000] [--parallel 1]
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { createScorer, DEMO_MODEL_DIR } from '@clip-agiqa/core';
import { smoothPng } from './large-png.js';

async function measureOne(side: number, parallel: number): Promise<{ side: number; parallel: number; megapixels: number; peakGrowthBytes: number; bytesPerPixel: number }> {
  const images = await Promise.all(Array.from({ length: parallel }, (_, i) => smoothPng(side, i)));
  const scorer = await createScorer({ model: DEMO_MODEL_DIR });
  await scorer.score([{ id: 'warm', image: await smoothPng(64) }]);
  global.gc?.();
  const base = process.memoryUsage().rss;
  let peak = base;
  const sample = setInterval(() => { peak = Math.max(peak, process.memoryUsage().rss); }, 2);
  await Promise.all(images.map((image, i) => scorer.score([{ id: String(i), image }])));
  clearInterval(sample);
  peak = Math.max(peak, process.memoryUsage().rss);
  await scorer.close();
  const pixels = side * side * parallel;
  return { side, parallel, megapixels: pixels / 1e6, peakGrowthBytes: peak - base, bytesPerPixel: (peak - base) / pixels };
}

const { values } = parseArgs({ options: { sides: { type: 'string', default: '2000,4000,8000' }, parallel: { type: 'string', default: '1' }, child: { type: 'string' } } });
if (values.child) {
  process.stdout.write(JSON.stringify(await measureOne(Number(values.child), Number(values.parallel))));
} else if (process.argv[1] === fileURLToPath(import.meta.url)) {
  for (const side of values.sides.split(',').map(Number)) {
    const out = execFileSync(process.execPath, ['--expose-gc', '--import', 'tsx', fileURLToPath(import.meta.url), '--child', String(side), '--parallel', values.parallel], { encoding: 'utf8' });
    const r = JSON.parse(out) as Awaited<ReturnType<typeof measureOne>>;
    console.log(`${side}x${side} PNG x${r.parallel}: peak RSS +${(r.peakGrowthBytes / 1e6).toFixed(0)} MB = ${r.bytesPerPixel.toFixed(2)} bytes/pixel`);
  }
}
