// Where the SDK's preprocessing intentionally differs from the official CLIP-AGIQA code, and by how much
// each difference moves scores: AGIQA-3K images turned into EXIF-rotated, RGBA, CMYK and 16-bit files
// (bench/preprocessing_variants.py), each scored from the file (the SDK's decoding) and from the pixels the
// official code computes for it (PIL's Image.open(path).convert("RGB")), with the same bundle and head.
//   node --import tsx bench/preprocessing-differences.ts [--model DIR] [--data DIR] [--images N] [--torch-model HF_DIR]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

import { createScorer, DEMO_MODEL_DIR, type ImageInput } from '@clip-agiqa/core';
import { parseSafetensors } from '@clip-agiqa/core/internal';

const { values } = parseArgs({ options: {
  model: { type: 'string', default: DEMO_MODEL_DIR }, data: { type: 'string', default: '../shared/datasets/agiqa-3k' },
  images: { type: 'string', default: '30' }, 'torch-model': { type: 'string' },
} });
const work = mkdtempSync(join(tmpdir(), 'clip-agiqa-preprocessing-'));
try {
  const python = process.env.PYTHON ?? '.venv/bin/python3';
  const extra = values['torch-model'] ? ['--torch-model', values['torch-model'], join(values.model, 'heads/quality.safetensors')] : [];
  const r = spawnSync(python, ['bench/preprocessing_variants.py', values.data, values.images, work, ...extra], { encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(r.stderr || String(r.error ?? r.signal));
  const { files, fp16 } = JSON.parse(r.stdout) as { files: Record<string, string>[]; fp16?: { mean: number; max: number; spread: number } };
  const official = parseSafetensors(readFileSync(join(work, 'official.safetensors')), 'official');
  const scorer = await createScorer({ model: values.model });
  const quality = async (image: ImageInput) => (await scorer.score(image)).scores.quality!;
  const originals: number[] = [];
  const rows: string[] = [];
  for (const kind of ['original', 'exif', 'alpha', 'cmyk', 'grey16', 'grey8']) {
    const diffs: number[] = [];
    for (const f of files) {
      const stem = f.original!.split('/').pop()!.replace(/\.png$/, '');
      const sdk = await quality(f[kind]!);
      const pixels = Uint8Array.from(official.get(`${kind}/${stem}`)!.data);
      const theirs = await quality({ id: `${kind}/${stem}`, image: { data: pixels, width: 224, height: 224, channels: 3 } });
      if (kind === 'original') originals.push(sdk);
      diffs.push(Math.abs(sdk - theirs));
    }
    const mean = diffs.reduce((a, b) => a + b, 0) / diffs.length;
    rows.push(`| ${kind} | ${mean.toExponential(2)} | ${Math.max(...diffs).toExponential(2)} |`);
  }
  await scorer.close();
  const m = originals.reduce((a, b) => a + b, 0) / originals.length;
  const spread = Math.sqrt(originals.reduce((a, b) => a + (b - m) ** 2, 0) / (originals.length - 1));
  console.log(`model ${values.model}, ${files.length} AGIQA-3K images; score std over the originals ${spread.toFixed(4)}\n`);
  console.log('| file | mean abs score change | max |\n| --- | --- | --- |');
  console.log(rows.join('\n'));
  if (fp16) console.log(`\nfp16 image tower (PyTorch): mean ${fp16.mean.toExponential(2)}, max ${fp16.max.toExponential(2)} (score std ${fp16.spread.toFixed(4)})`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
