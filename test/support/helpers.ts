import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createDeflate } from 'node:zlib';

import { DEMO_MODEL_DIR } from '@clip-agiqa/core';
import { parseSafetensors, pngChunk } from '@clip-agiqa/core/internal';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../..');
export const IMAGES = join(ROOT, 'test/fixtures/images');
export const GOLDENS = join(ROOT, 'test/fixtures/goldens');
export const AGIQA3K = join(ROOT, '../shared/datasets/agiqa-3k');
export const CLI = join(ROOT, 'packages/cli/bin/clip-agiqa.js');
export { DEMO_MODEL_DIR };

/** Fixture images that are ordinary RGB photos (the preprocessing tolerance applies to these). */
export const ORDINARY = ['landscape.jpg', 'portrait.jpg', 'square.png', 'small-upscaled.jpg', 'wide.webp', 'exif-rotated.jpg'];

export interface Reference {
  size: number;
  images: Record<string, { image_embeds: number[]; scores: Record<string, number> }>;
}

export const reference = (): Reference => JSON.parse(readFileSync(join(GOLDENS, 'reference.json'), 'utf8')) as Reference;

/** PIL's pixels for each fixture image: uint8 [S,S,3]. */
export function goldenPixels(): Map<string, Uint8Array> {
  const tensors = parseSafetensors(readFileSync(join(GOLDENS, 'pixels.safetensors')), 'goldens');
  return new Map([...tensors].map(([name, t]) => [name, Uint8Array.from(t.data)]));
}

export function tempDir(prefix = 'clip-agiqa-test-'): { dir: string; [Symbol.dispose](): void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, [Symbol.dispose]: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A loopback port nothing listens on. */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export function copyDemoBundle(to: string): string {
  cpSync(DEMO_MODEL_DIR, to, { recursive: true });
  return to;
}

interface EditableManifest { heads: { name: string; higher_is_better: boolean }[]; text_encoder?: unknown }

/** A copy of the demo bundle at `to`, its manifest changed by `edit`. */
function editedDemoBundle(to: string, edit: (manifest: EditableManifest) => void): string {
  copyDemoBundle(to);
  const path = join(to, 'manifest.json');
  const manifest = JSON.parse(readFileSync(path, 'utf8')) as EditableManifest;
  edit(manifest);
  writeFileSync(path, JSON.stringify(manifest, null, 2));
  return to;
}

/** The demo bundle with its quality head marked lower-is-better (as an artefact or distortion head is). */
export function lowerIsBetterBundle(to: string): string {
  return editedDemoBundle(to, (m) => { m.heads[0]!.higher_is_better = false; });
}

const addArtefactsHead = (m: EditableManifest) => m.heads.push({ ...m.heads[0]!, name: 'artefacts', higher_is_better: false });

/** The demo bundle with a second head, artefacts: the quality head's weights, read lower-is-better (so it ranks in reverse). */
export function twoHeadBundle(to: string): string {
  return editedDemoBundle(to, (m) => {
    addArtefactsHead(m);
    // Without its text tower the model has exactly these two heads (no prompt head, clipscore).
    delete m.text_encoder;
  });
}

/** The two-head bundle with the demo's text tower kept: heads quality, artefacts and the prompt head clipscore (scored only with a prompt). */
export function promptHeadBundle(to: string): string {
  return editedDemoBundle(to, addArtefactsHead);
}

export function pixelDiff(a: Uint8Array, b: Uint8Array): { mean: number; max: number } {
  if (a.length !== b.length) throw new Error(`length ${a.length} != ${b.length}`);
  let sum = 0;
  let max = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    sum += d;
    if (d > max) max = d;
  }
  return { mean: sum / a.length, max };
}

/** The Python of the reference checks: the project's .venv (which `.ci/run` prepares) when present, else python3 on PATH. */
export const PYTHON = existsSync(join(ROOT, '.venv/bin/python3')) ? join(ROOT, '.venv/bin/python3') : 'python3';

const pythonReasons = new Map<string, string | null>();
/**
 * Why the Python reference checks needing these modules cannot run here, or null when they can: the
 * skip reason of a reference test. Under CI=true a missing reference is an error instead, so a machine
 * without Python cannot pass CI by skipping the checks against PyTorch, PIL and scipy.
 */
export function pythonUnavailable(modules = ['torch', 'transformers', 'onnxruntime', 'safetensors', 'PIL']): string | null {
  const key = modules.join(',');
  if (!pythonReasons.has(key)) {
    const r = spawnSync(PYTHON, ['-c', `import ${modules.join(', ')}`], { encoding: 'utf8' });
    const reason = r.error ? `${PYTHON} not found (${r.error.message})`
      : r.status !== 0 ? `${PYTHON} lacks ${modules.join('/')}: ${r.stderr.trim().split('\n').pop()}` : null;
    pythonReasons.set(key, reason);
  }
  const reason = pythonReasons.get(key)!;
  if (reason !== null && process.env.CI === 'true') {
    throw new Error(`CI=true and a reference check cannot run: ${reason}. Run bash .ci/python-venv (bash .ci/run does) to prepare .venv.`);
  }
  return reason;
}

export function python(args: string[], options: { input?: string; cwd?: string } = {}): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(PYTHON, args, { encoding: 'utf8', cwd: options.cwd ?? ROOT, input: options.input, maxBuffer: 256 * 1024 * 1024 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/**
 * Writes a real, valid PNG of width x height black pixels: a few MB on disk that would need
 * width * height * 3 bytes decoded. Streams the deflate so the test never holds the raw image.
 */
export async function writePngBomb(path: string, width: number, height: number): Promise<void> {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8); // 8-bit RGB
  const deflate = createDeflate({ level: 1 });
  const parts: Buffer[] = [];
  deflate.on('data', (d: Buffer) => parts.push(d));
  const done = new Promise((resolve) => deflate.on('end', resolve));
  const rows = Buffer.alloc((1 + width * 3) * 256); // 256 zero rows (filter byte 0 + black pixels)
  for (let y = 0; y < height; y += 256) {
    const n = Math.min(256, height - y);
    if (!deflate.write(rows.subarray(0, n * (1 + width * 3)))) await new Promise((r) => deflate.once('drain', r));
  }
  deflate.end();
  await done;
  writeFileSync(path, Buffer.concat([
    Buffer.from('\x89PNG\r\n\x1a\n', 'latin1'), pngChunk('IHDR', ihdr), pngChunk('IDAT', Buffer.concat(parts)), pngChunk('IEND', Buffer.alloc(0)),
  ]));
}
