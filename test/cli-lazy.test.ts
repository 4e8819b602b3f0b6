import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, it } from 'node:test';

import { CLI, IMAGES, ROOT, tempDir } from './support/helpers.js';

/** Runs the CLI's main() in a fresh process and lists the CommonJS modules it loaded (onnxruntime-node and sharp are CommonJS). */
function loadedModules(argv: string[]): { status: number | null; stdout: string; modules: string[] } {
  const main = pathToFileURL(join(ROOT, 'packages/cli/dist/main.js')).href;
  const script = `
    import { createRequire } from 'node:module';
    const { main } = await import(${JSON.stringify(main)});
    let out = '';
    const io = { stdout: { write: (s) => { out += s; return true; }, isTTY: false }, stderr: { write: () => true, isTTY: false }, env: {}, cwd: process.cwd() };
    const status = await main(${JSON.stringify(argv)}, io);
    console.log(JSON.stringify({ status, out, modules: Object.keys(createRequire(import.meta.url).cache) }));`;
  // A file, not --input-type=module -e: the scorer's worker threads inherit the process's flags.
  using t = tempDir();
  writeFileSync(join(t.dir, 'probe.mjs'), script);
  const r = spawnSync(process.execPath, [join(t.dir, 'probe.mjs')], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const { status, out, modules } = JSON.parse(r.stdout) as { status: number; out: string; modules: string[] };
  return { status, stdout: out, modules };
}

const HEAVY = /[\\/](onnxruntime-node|onnxruntime-common|sharp)[\\/]/;

describe('clip-agiqa loads its commands lazily', () => {
  it('--help loads neither ONNX Runtime nor sharp', () => {
    const r = loadedModules(['--help']);
    assert.equal(r.status, 0);
    assert.match(r.stdout, /Commands:\n {2}score {4}score images/);
    assert.deepEqual(r.modules.filter((m) => HEAVY.test(m)), []);
  });

  it('help COMMAND and COMMAND --help print its options without loading them, for every command', () => {
    const r = loadedModules(['help', 'score']);
    assert.equal(r.status, 0);
    assert.match(r.stdout, /^Usage: clip-agiqa score/);
    assert.deepEqual(r.modules.filter((m) => HEAVY.test(m)), []);
    for (const command of ['score', 'import', 'info', 'report', 'train', 'eval', 'embed', 'serve', 'bridge', 'comfy']) {
      const help = loadedModules([command, '--help']);
      assert.equal(help.status, 0, command);
      assert.match(help.stdout, new RegExp(`^Usage: clip-agiqa ${command}`), command);
      assert.deepEqual(help.modules.filter((m) => HEAVY.test(m)), [], `${command} --help`);
    }
  });

  it('a command loads them when it runs', () => {
    const r = loadedModules(['score', join(IMAGES, 'square.png')]);
    assert.equal(r.status, 0);
    assert.match(r.stdout, /square\.png/);
    assert.ok(r.modules.some((m) => HEAVY.test(m)), 'scoring loads its runtime');
  });

  it('importing the packages loads neither: decisions on given scores need no runtime', () => {
    const script = `
      import { createRequire } from 'node:module';
      await import('@clip-agiqa/core'); await import('@clip-agiqa/core/internal'); await import('@clip-agiqa/train');
      await import('@clip-agiqa/webhook'); await import('@clip-agiqa/comfyui'); await import('@clip-agiqa/report');
      console.log(JSON.stringify(Object.keys(createRequire(import.meta.url).cache)));`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: ROOT, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual((JSON.parse(r.stdout) as string[]).filter((m) => HEAVY.test(m)), []);
  });

  it('an unknown command is a usage error (status 2) without loading them', () => {
    const r = spawnSync(process.execPath, [CLI, 'nonsense'], { encoding: 'utf8' });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /unknown command nonsense/);
  });
});
