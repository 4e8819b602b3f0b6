#!/usr/bin/env node
// Packs every workspace package into one folder (the tarballs a release publishes or hands out) and
// lints each tarball with publint: what users get is checked, not the working tree.
//   npm run release:pack                          build, then write release/*.tgz
//   node scripts/release-pack.mjs [DIR] [--json]  pack the built packages into DIR (default release/);
//                                                 --json prints npm pack's report on stdout
// Exits 1 when publint reports anything, at any level.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { publint } from 'publint';
import { formatMessage } from 'publint/utils';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const json = args.includes('--json');
const out = resolve(args.find((a) => !a.startsWith('--')) ?? join(root, 'release'));

mkdirSync(out, { recursive: true });
// A tarball of an older version left in the folder would be published along with the new ones.
for (const f of readdirSync(out)) if (/^clip-agiqa-.+\.tgz$/.test(f)) rmSync(join(out, f));

const pack = spawnSync('npm', ['pack', '--workspaces', '--ignore-scripts', '--json', '--pack-destination', out], { cwd: root, encoding: 'utf8', maxBuffer: 64 << 20 });
if (pack.status !== 0) {
  process.stderr.write(pack.stderr);
  process.exit(pack.status ?? 1);
}
const packed = JSON.parse(pack.stdout);

let problems = 0;
for (const p of packed) {
  const tarball = readFileSync(join(out, p.filename));
  const { messages, pkg } = await publint({ pkgDir: 'package', pack: { tarball: tarball.buffer.slice(tarball.byteOffset, tarball.byteOffset + tarball.byteLength) }, level: 'suggestion', strict: true });
  for (const m of messages) process.stderr.write(`${p.name}: publint ${m.type}: ${formatMessage(m, pkg, { color: false })}\n`);
  problems += messages.length;
  process.stderr.write(`${relative(process.cwd(), join(out, p.filename))}  ${(p.size / 1e6).toFixed(2)} MB packed, ${(p.unpackedSize / 1e6).toFixed(2)} MB unpacked, ${p.entryCount} files\n`);
}
if (json) process.stdout.write(`${JSON.stringify(packed, null, 2)}\n`);
process.exit(problems === 0 ? 0 : 1);
