#!/usr/bin/env node
// Compiles core's WebAssembly kernels (packages/core/assembly, AssemblyScript) and writes each as a
// base64 module in packages/core/src/generated/, so the package needs no compiler and no extra files.
//   node scripts/gen-wasm.mjs          write the generated modules
//   node scripts/gen-wasm.mjs --check  fail if any generated module is stale
import { readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import asc from 'assemblyscript/asc';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const kernels = [
  { source: 'packages/core/assembly/pil-bicubic.ts', out: 'packages/core/src/generated/pil-bicubic-wasm.ts', constName: 'PIL_BICUBIC_WASM' },
];

async function compile(source) {
  let binary;
  const { error, stderr } = await asc.main(
    [join(root, source), '--outFile', 'kernel.wasm', '--runtime', 'stub', '--enable', 'simd', '--importMemory', '--optimizeLevel', '3', '--shrinkLevel', '0', '--noAssert'],
    { writeFile: (name, contents) => { if (name.endsWith('kernel.wasm')) binary = contents; } },
  );
  if (error) throw new Error(`${source}: ${error.message}\n${stderr.toString()}`);
  return Buffer.from(binary);
}

function moduleText(kernel, binary) {
  const base64 = binary.toString('base64').replace(/.{1,100}/g, (line) => `  '${line}' +\n`).replace(/ \+\n$/, ',\n');
  return `// Generated from ${kernel.source} by scripts/gen-wasm.mjs: do not edit.\n` +
    `// WebAssembly module (${binary.length} bytes), base64.\n` +
    `export const ${kernel.constName} = [\n${base64}].join('');\n`;
}

const check = process.argv.includes('--check');
let stale = 0;
for (const kernel of kernels) {
  const text = moduleText(kernel, await compile(kernel.source));
  const path = join(root, kernel.out);
  if (check) {
    const current = await readFile(path, 'utf8').catch(() => '');
    if (current !== text) { console.error(`stale: ${kernel.out} (run node scripts/gen-wasm.mjs)`); stale++; }
  } else {
    await writeFile(path, text);
    console.log(`wrote ${kernel.out}`);
  }
}
process.exit(stale ? 1 : 0);
