// The mistakes people make on their first runs, each answered with one line naming the command that fixes it.
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import { cli } from './support/cli-process.js';
import { copyDemoBundle, IMAGES, ROOT, tempDir } from './support/helpers.js';

const noStack = (stderr: string) => assert.doesNotMatch(stderr, /^\s+at /m, `a stack trace reached the user:\n${stderr}`);
/** The lines of stderr that are about the failure (the demo model's warning aside). */
const errorLines = (stderr: string) => stderr.split('\n').filter((l) => l && !/UNTRAINED/.test(l));

/** A folder as transformers.js and the hub lay a CLIP out (only the names matter here). */
function hubLayoutFolder(dir: string): string {
  mkdirSync(join(dir, 'onnx'), { recursive: true });
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ model_type: 'clip' }));
  writeFileSync(join(dir, 'onnx/vision_model.onnx'), '');
  return dir;
}

describe('hints for the first mistakes', () => {
  it('a transformers.js / Hugging Face folder given as --model: import it first, with the command', async () => {
    using t = tempDir();
    const folder = hubLayoutFolder(join(t.dir, 'clip-vit-base-patch16'));
    const r = await cli(['score', '--model', folder, join(IMAGES, 'square.png')]);
    assert.equal(r.status, 1, r.stderr);
    assert.deepEqual(errorLines(r.stderr), [
      `clip-agiqa: [BUNDLE_NOT_FOUND] ${folder}: no manifest.json: this looks like a Hugging Face / transformers.js model folder, not a bundle; import it first: clip-agiqa import ${folder} --out BUNDLE (importModel() in the API), then use BUNDLE`,
    ]);
    noStack(r.stderr);
  });

  it('a folder that is neither keeps the plain not-found error', async () => {
    using t = tempDir();
    const r = await cli(['score', '--model', t.dir, join(IMAGES, 'square.png')]);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /\[BUNDLE_NOT_FOUND\] .*cannot read manifest\.json/);
    assert.doesNotMatch(r.stderr, /clip-agiqa import/);
  });

  it('import OWNER/NAME without hf: names the hub form of the command', async () => {
    using t = tempDir();
    for (const [args, fixed] of [
      [['import', 'Xenova/clip-vit-base-patch16'], 'clip-agiqa import hf:Xenova/clip-vit-base-patch16'],
      [['import', 'Xenova/clip-vit-base-patch16@main', '--out', join(t.dir, 'b')], `clip-agiqa import hf:Xenova/clip-vit-base-patch16@main --out ${join(t.dir, 'b')}`],
    ] as const) {
      const r = await cli([...args], { HF_HUB_OFFLINE: '1' });
      assert.equal(r.status, 2, r.stderr);
      assert.equal(r.stderr.split('\n')[0], `clip-agiqa: no folder ${args[1]} here; for the model on the Hugging Face hub write hf:${args[1]}: ${fixed}`);
      noStack(r.stderr);
    }
  });

  it('--model OWNER/NAME without hf: says to write --model hf:OWNER/NAME', async () => {
    const r = await cli(['score', '--model', 'Xenova/clip-vit-base-patch16', join(IMAGES, 'square.png')], { HF_HUB_OFFLINE: '1' });
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /^clip-agiqa: no folder Xenova\/clip-vit-base-patch16 here; for the model on the Hugging Face hub write hf:Xenova\/clip-vit-base-patch16: --model hf:Xenova\/clip-vit-base-patch16$/m);
  });

  it('serve on a port in use: one typed line naming the port, the flag and the configuration key, exit 1', async () => {
    using t = tempDir();
    const busy = createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
    const { port } = busy.address() as { port: number };
    try {
      const config = JSON.parse(readFileSync(join(ROOT, 'examples/webhooks/serve.json'), 'utf8')) as Record<string, unknown>;
      writeFileSync(join(t.dir, 'serve.json'), JSON.stringify({ ...config, port, data_dir: join(t.dir, 'data') }));
      const r = await cli(['serve', '--config', join(t.dir, 'serve.json')]);
      assert.equal(r.status, 1, r.stderr);
      assert.deepEqual(errorLines(r.stderr), [
        `clip-agiqa: [LISTEN_FAILED] port ${port} on 127.0.0.1 is already in use (another clip-agiqa serve, or another service): stop it, or pick a free port with --port or "port" in the configuration`,
      ]);
      noStack(r.stderr);
    } finally {
      busy.close();
    }
  });

  it('score with several heads prints a line naming each score column', async () => {
    using t = tempDir();
    const bundle = copyDemoBundle(join(t.dir, 'two-heads'));
    const path = join(bundle, 'manifest.json');
    const manifest = JSON.parse(readFileSync(path, 'utf8')) as { heads: { name: string }[] };
    manifest.heads.push({ ...manifest.heads[0]!, name: 'aesthetic-quality' });
    writeFileSync(path, JSON.stringify(manifest, null, 2));
    const r = await cli(['score', '--model', bundle, join(IMAGES, 'square.png'), join(IMAGES, 'wide.webp')]);
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.trimEnd().split('\n');
    assert.equal(lines.length, 3, r.stdout);
    assert.equal(lines[0], '  quality aesthetic-quality  path');
    // Every value sits under its head's name: the columns end where the names end.
    for (const line of lines.slice(1)) {
      assert.match(line, /^ {3}\d\.\d{4} {12}\d\.\d{4} {2}\//, line);
      assert.equal(line.indexOf('  /'), lines[0]!.indexOf('  path'));
    }
    const single = await cli(['score', join(IMAGES, 'square.png')]);
    assert.doesNotMatch(single.stdout, / path$/m, 'one head needs no legend');
  });
});
