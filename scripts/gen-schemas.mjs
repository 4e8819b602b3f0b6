#!/usr/bin/env node
// Generates TypeScript types and an importable copy of each wire-format schema in schemas/,
// so runtime validation (ajv) and compile-time types come from the same file.
//   node scripts/gen-schemas.mjs          write the generated modules
//   node scripts/gen-schemas.mjs --check  fail if any generated module is stale
import { readFile, writeFile, mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compile } from 'json-schema-to-typescript';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
// Definitions the wire formats share: generated once, in core; the other generated modules import them.
const shared = { schema: 'defs.schema.json', out: 'packages/core/src/generated/defs.ts', constName: 'defsSchema' };
const targets = [
  shared,
  { schema: 'model-bundle.schema.json', out: 'packages/core/src/generated/model-bundle.ts', constName: 'modelBundleSchema' },
  { schema: 'score-record.schema.json', out: 'packages/core/src/generated/score-record.ts', constName: 'scoreRecordSchema' },
  { schema: 'webhook-job.schema.json', out: 'packages/webhook/src/generated/webhook-job.ts', constName: 'webhookJobSchema' },
  { schema: 'webhook-verdict.schema.json', out: 'packages/webhook/src/generated/webhook-verdict.ts', constName: 'webhookVerdictSchema' },
  { schema: 'bridge-client-message.schema.json', out: 'packages/comfyui/src/generated/bridge-client-message.ts', constName: 'bridgeClientMessageSchema' },
  { schema: 'bridge-server-message.schema.json', out: 'packages/comfyui/src/generated/bridge-server-message.ts', constName: 'bridgeServerMessageSchema',
    // The Python node pack validates the bridge's replies against the same schema; it is installed on its own, so it gets a self-contained copy.
    bundled: 'packages/comfyui/comfyui_nodes/bridge-server-message.schema.json' },
  { schema: 'webhook-config.schema.json', out: 'packages/webhook/src/generated/webhook-config.ts', constName: 'webhookConfigSchema' },
];

// Conditional rules (if/then) narrow values, not the shape; json-schema-to-typescript would turn an
// allOf of them into an intersection of copies of the whole object, so the types are made without them.
function withoutConditionals(node) {
  if (Array.isArray(node)) return node.map(withoutConditionals);
  if (!node || typeof node !== 'object') return node;
  const out = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === 'allOf' && value.every((rule) => 'if' in rule)) continue;
    out[key] = withoutConditionals(value);
  }
  return out;
}

/** Top-level declarations of generated code (each with its doc comment), and the type each declares. */
function declarations(code) {
  const parts = code.trim().split(/\n(?=\/\*\*|export )/);
  // A doc comment belongs to the declaration after it.
  const merged = parts.reduce((out, p) => (out.length && out.at(-1).startsWith('/**') && !out.at(-1).includes('\nexport ') ? [...out.slice(0, -1), `${out.at(-1)}\n${p}`] : [...out, p]), []);
  return merged.map((text) => ({ text, name: /^export (?:interface|type) (\w+)/m.exec(text)?.[1] }));
}

/** Replaces the declarations of shared types with an import of them. */
function importShared(code, sharedNames, from) {
  const parts = declarations(code);
  const kept = parts.filter((p) => !sharedNames.has(p.name)).map((p) => p.text).join('\n');
  // Only what this module names itself: a shared type used only by another shared type stays in core.
  const used = parts.filter((p) => sharedNames.has(p.name) && new RegExp(`\\b${p.name}\\b`).test(kept)).map((p) => p.name);
  return used.length ? `import type { ${used.sort().join(', ')} } from '${from}';\n\n${kept}` : kept;
}

/** The schema with the shared definitions it refers to copied in, so that it resolves alone. */
function bundle(schema, defs) {
  const rewrite = (node) => {
    if (Array.isArray(node)) return node.map(rewrite);
    if (!node || typeof node !== 'object') return node;
    return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, k === '$ref' && v.startsWith(`${shared.schema}#/$defs/`) ? `#/$defs/shared.${v.split('/').pop()}` : rewrite(v)]));
  };
  const copied = Object.fromEntries(Object.entries(defs.$defs).map(([name, def]) => [`shared.${name}`, def]));
  return rewrite({ ...schema, $defs: { ...schema.$defs, ...copied } });
}

const check = process.argv.includes('--check');
let stale = 0;
const outputs = [];
let sharedNames = new Set();
for (const t of targets) {
  const schema = JSON.parse(await readFile(join(root, 'schemas', t.schema), 'utf8'));
  let types = await compile(withoutConditionals(schema), schema.title, {
    bannerComment: '',
    cwd: join(root, 'schemas'),
    additionalProperties: false,
    strictIndexSignatures: true,
    unreachableDefinitions: t === shared,
    format: true,
    style: { singleQuote: true, printWidth: 110 },
  });
  if (t === shared) sharedNames = new Set(declarations(types).map((d) => d.name).filter((n) => n && n !== schema.title));
  else types = importShared(types, sharedNames, t.out.startsWith('packages/core/') ? './defs.js' : '@clip-agiqa/core/internal');
  const text =
    `// Generated from schemas/${t.schema} by scripts/gen-schemas.mjs: do not edit.\n\n` +
    `${types.trim()}\n\nexport const ${t.constName} = ${JSON.stringify(schema, null, 2)} as const;\n`;
  outputs.push([t.out, text]);
  if (t.bundled) {
    const defs = JSON.parse(await readFile(join(root, 'schemas', shared.schema), 'utf8'));
    outputs.push([t.bundled, `${JSON.stringify(bundle(schema, defs), null, 2)}\n`]);
  }
}
for (const [out, text] of outputs) {
  const path = join(root, out);
  const current = await readFile(path, 'utf8').catch(() => '');
  if (current === text) continue;
  if (check) {
    console.error(`stale: ${out} (run: node scripts/gen-schemas.mjs)`);
    stale++;
  } else {
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, text);
    console.log(`wrote ${out}`);
  }
}
process.exit(stale ? 1 : 0);
