// The score command as a person at a terminal meets it: a real pseudo-terminal (script(1)), pipes that
// close early, native library noise, symlinked folders, shell gating and interrupted runs.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import { CLI, IMAGES, tempDir } from './support/helpers.js';

const ORIGINALS = ['landscape.jpg', 'square.png', 'wide.webp', 'portrait.jpg'];

function manyImages(dir: string, n: number): void {
  for (let i = 0; i < n; i++) copyFileSync(join(IMAGES, ORIGINALS[i % 4]!), join(dir, `img-${String(i).padStart(3, '0')}.${ORIGINALS[i % 4]!.split('.')[1]}`));
}

function cli(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { ...process.env, FORCE_COLOR: '0' } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** What a terminal shows for a byte stream: carriage returns and erase-line applied, line by line. */
function screenLines(raw: string): string[] {
  const lines: string[] = [];
  let line = '';
  let col = 0;
  for (let i = 0; i < raw.length; i++) {
    if (raw.startsWith('\x1b[2K', i)) {
      line = '';
      i += 3;
    } else if (raw[i] === '\r') col = 0;
    else if (raw[i] === '\n') {
      lines.push(line);
      line = '';
      col = 0;
    } else {
      line = line.slice(0, col) + raw[i] + line.slice(col + 1);
      col++;
    }
  }
  if (line) lines.push(line);
  return lines;
}

describe('clip-agiqa score on a terminal', () => {
  it('results and the progress bar share one terminal without gluing lines together (through a pseudo-terminal)', () => {
    using t = tempDir();
    manyImages(t.dir, 40);
    const command = [process.execPath, CLI, 'score', '--batch-size', '1', '--threads', '1', t.dir].map((a) => `'${a}'`).join(' ');
    const r = spawnSync('script', ['-q', '-e', '-c', command, '/dev/null'], { encoding: 'utf8', env: { ...process.env, FORCE_COLOR: '0', COLUMNS: '200' } });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /\[#+-*\] \d+\/40/, 'the bar was drawn on the terminal');
    const results = screenLines(r.stdout).filter((l) => l.includes('img-'));
    assert.equal(results.length, 40);
    for (const l of results) assert.match(l, /^\s+\d+\.\d{4}\s+\S+img-\d{3}\.\w+$/, `a result line glued to something: ${JSON.stringify(l)}`);
  });

  it('a reader that stops early (| head -1) ends the run quietly', async () => {
    using t = tempDir();
    manyImages(t.dir, 40);
    const child = spawn(process.execPath, [CLI, 'score', '--json', '--batch-size', '1', t.dir], { env: { ...process.env, FORCE_COLOR: '0' } });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    const first = await new Promise<string>((resolve) => child.stdout.once('data', (d: Buffer) => resolve(d.toString())));
    child.stdout.destroy();
    const status = await new Promise<number | null>((resolve) => child.on('close', resolve));
    assert.match(first, /^\{"path"/);
    assert.doesNotMatch(stderr, /EPIPE|Error|^\s+at /m, stderr);
    assert.equal(status, 0);
  });

  it('native ONNX Runtime and GPU library noise stays out of the way; an unavailable device says how to fix it', () => {
    const auto = cli(['score', '--device', 'auto', '--no-progress', join(IMAGES, 'square.png')]);
    assert.equal(auto.status, 0, auto.stderr);
    assert.doesNotMatch(auto.stderr, /onnxruntime|Vulkan/i, auto.stderr);
    assert.ok(!auto.stderr.includes('\u001b['), 'no coloured native log lines');
    const cudaLib = join(CLI, '../../../../node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime_providers_cuda.so');
    const cuda = cli(['score', '--device', 'cuda', join(IMAGES, 'square.png')]);
    assert.equal(cuda.status, 1);
    assert.doesNotMatch(cuda.stderr, /\[E:onnxruntime/, cuda.stderr);
    if (!existsSync(cudaLib)) assert.match(cuda.stderr, /installed without CUDA support: reinstall it with `ONNXRUNTIME_NODE_INSTALL=cuda12 npm rebuild onnxruntime-node`/);
  });
});

describe('clip-agiqa score: paths, gating, partial output', () => {
  it('follows symlinked files and folders, once each, through a symlink cycle', () => {
    using t = tempDir();
    const real = join(t.dir, 'real');
    mkdirSync(join(real, 'nested'), { recursive: true });
    copyFileSync(join(IMAGES, 'square.png'), join(real, 'square.png'));
    copyFileSync(join(IMAGES, 'wide.webp'), join(real, 'nested', 'wide.webp'));
    const linked = join(t.dir, 'linked');
    mkdirSync(linked);
    symlinkSync(join(real, 'square.png'), join(linked, 'a.png'));
    symlinkSync(join(real, 'nested'), join(linked, 'folder'));
    symlinkSync(linked, join(linked, 'loop')); // a cycle
    symlinkSync(join(t.dir, 'gone.png'), join(linked, 'dangling.png'));
    const r = cli(['score', '--json', linked]);
    assert.equal(r.status, 0, r.stderr);
    const paths = r.stdout.trim().split('\n').map((l) => (JSON.parse(l) as { path: string }).path.slice(linked.length + 1));
    assert.deepEqual(paths, ['a.png', 'folder/wide.webp']);
  });

  it('a folder named on the command line that holds no image is an error row, not silence', () => {
    using t = tempDir();
    mkdirSync(join(t.dir, 'empty'));
    copyFileSync(join(IMAGES, 'square.png'), join(t.dir, 'square.png'));
    const r = cli(['score', '--json', join(t.dir, 'square.png'), join(t.dir, 'empty')]);
    assert.equal(r.status, 1);
    const rows = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { path: string; error?: { code: string } });
    assert.deepEqual(rows.map((x) => [x.path.slice(t.dir.length + 1), x.error?.code ?? 'scored']), [['empty', 'NO_IMAGES'], ['square.png', 'scored']]);
  });

  it('--fail-if-none-pass exits 3 when nothing passes, 0 when something does; without it nothing passing is 0', () => {
    const image = join(IMAGES, 'square.png');
    assert.equal(cli(['score', '--threshold', '1e9', '--fail-if-none-pass', image]).status, 3);
    assert.equal(cli(['score', '--threshold=-1e9', '--fail-if-none-pass', image]).status, 0);
    assert.equal(cli(['score', '--threshold', '1e9', image]).status, 0);
    const misuse = cli(['score', '--fail-if-none-pass', image]);
    assert.equal(misuse.status, 2);
    assert.match(misuse.stderr, /--fail-if-none-pass goes with --threshold/);
  });

  it('the CSV is written row by row: an interrupted run keeps what it scored', async () => {
    using t = tempDir();
    manyImages(t.dir, 60);
    const csv = join(t.dir, 'scores.csv');
    const child = spawn(process.execPath, [CLI, 'score', '--csv', csv, '--batch-size', '1', '--threads', '1', t.dir], { env: { ...process.env, FORCE_COLOR: '0' } });
    let lines = 0;
    await new Promise<void>((resolve) => child.stdout.on('data', (d: Buffer) => {
      lines += d.toString().split('\n').length - 1;
      if (lines >= 3) resolve();
    }));
    child.kill('SIGINT');
    await new Promise((resolve) => child.on('close', resolve));
    const rows = readFileSync(csv, 'utf8').trim().split('\n');
    assert.equal(rows[0], 'path,quality,error_code,error_message');
    assert.ok(rows.length - 1 >= 3 && rows.length - 1 < 60, `${rows.length - 1} rows kept`);
    for (const row of rows.slice(1)) assert.match(row, /^[^,]+img-\d{3}\.\w+,\d+\.\d+,,$/);
  });

  it('sidecars name their image relative to themselves', () => {
    using t = tempDir();
    copyFileSync(join(IMAGES, 'square.png'), join(t.dir, 'square.png'));
    const r = cli(['score', '--sidecar', join(t.dir, 'square.png')]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal((JSON.parse(readFileSync(join(t.dir, 'square.png.agiqa.json'), 'utf8')) as { path: string }).path, 'square.png');
  });

  it('bridge warns loudly when it serves the untrained demo model', async () => {
    const child = spawn(process.execPath, [CLI, 'bridge', '--port', '0'], { env: { ...process.env, FORCE_COLOR: '0' } });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
    child.kill('SIGTERM');
    await new Promise((resolve) => child.on('close', resolve));
    assert.match(stderr, /model clip-agiqa-tiny-untrained is UNTRAINED \(random weights\): its scores mean nothing \(no --model given: the demo model\)/);
  });
});
