// The examples run on every kind of model the README offers: the demo model, an imported CLIP (zero-shot
// heads in [0, 1]) and a trained head.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { CLI, DEMO_MODEL_DIR, IMAGES, python, pythonUnavailable, ROOT, tempDir } from './support/helpers.js';

const skip = pythonUnavailable(['torch', 'transformers', 'onnx', 'tokenizers']) ?? false;
const node = (args: string[]) => spawnSync(process.execPath, args, { cwd: ROOT, encoding: 'utf8', env: { ...process.env, FORCE_COLOR: '0' } });

function bestOfN(model?: string, threshold?: string): { ranked: { rank: number; score: number }[]; head: string; stdout: string; stderr: string } {
  const r = node([join(ROOT, 'examples/best-of-n.mjs'), ...(model ? [model] : []), ...(threshold ? [threshold] : [])]);
  assert.equal(r.status, 0, r.stderr);
  const ranked = [...r.stdout.matchAll(/^#(\d+) {2}(-?\d+\.\d+) {2}/gm)].map((m) => ({ rank: Number(m[1]), score: Number(m[2]) }));
  const candidates = readdirSync(join(ROOT, 'examples/images')).length;
  assert.equal(ranked.length, candidates, r.stdout);
  assert.match(r.stdout, /^best: .*candidate-\d-\w+\.jpg$/m);
  return { ranked, head: /^head (\S+):/m.exec(r.stdout)?.[1] ?? '', stdout: r.stdout, stderr: r.stderr };
}

describe('examples/best-of-n.mjs', () => {
  const work = tempDir('clip-agiqa-examples-');
  const imported = join(work.dir, 'imported');
  const trained = join(work.dir, 'trained');

  before(() => {
    if (skip) return;
    const hub = join(work.dir, 'hub-layout');
    const exported = python(['tools/export', '--random', 'tiny', '--seed', '3', '--layout', 'transformers-js', '--out', hub]);
    assert.equal(exported.status, 0, exported.stderr);
    const imp = node([CLI, 'import', hub, '--out', imported]);
    assert.equal(imp.status, 0, imp.stderr);
    const data = join(work.dir, 'ratings');
    const names = ['landscape.jpg', 'portrait.jpg', 'square.png', 'wide.webp', 'grey.png', 'small-upscaled.jpg'];
    const files = [0, 1].flatMap((copy) => names.map((n) => `${copy}-${n}`));
    for (const f of files) copyFileSync(join(IMAGES, f.slice(2)), join(work.dir, f));
    writeFileSync(`${data}.csv`, `path,mos\n${files.map((n, i) => `${n},${1 + ((i * 0.37) % 4)}`).join('\n')}\n`);
    const tr = node([CLI, 'train', '--dataset', 'csv', '--data', `${data}.csv`, '--model', imported, '--epochs', '2', '--views', '0', '--out', trained, '--report', join(work.dir, 'report.json'), '--cache', join(work.dir, 'cache')]);
    assert.equal(tr.status, 0, tr.stderr);
  });
  after(() => work[Symbol.dispose]());

  it('runs with no argument on the demo model', () => {
    assert.equal(bestOfN().head, 'quality');
  });

  it('ranks with the demo model, and applies a threshold on its scale', () => {
    const run = bestOfN(DEMO_MODEL_DIR, '3.15');
    assert.equal(run.head, 'quality');
    assert.match(run.stdout, /^\d pass quality 3\.15, \d would be rerolled$/m);
    assert.match(run.stderr, /UNTRAINED/);
  });

  it('ranks with an imported CLIP by its first zero-shot head, scores in [0, 1]; without a threshold the better half passes', { skip }, () => {
    const run = bestOfN(imported);
    assert.equal(run.head, 'clip-iqa');
    for (const { score } of run.ranked) assert.ok(score >= 0 && score <= 1, `${score}`);
    assert.match(run.stdout, /^2 pass the top 50%, 2 would be rerolled$/m);
  });

  it('ranks with a trained head', { skip }, () => {
    const run = bestOfN(trained);
    assert.equal(run.head, 'quality');
    assert.deepEqual(run.ranked.map((r) => r.rank), [1, 2, 3, 4]);
    assert.ok(run.ranked.every((r, i) => i === 0 || r.score <= run.ranked[i - 1]!.score), run.stdout);
  });
});
