import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import * as core from '@clip-agiqa/core';
import * as coreImport from '@clip-agiqa/core/import';

import { ROOT } from './support/helpers.js';
import { loadedBy } from './support/loaded-modules.js';

/** Names in `export { ... }` and `export type { ... }` lists (as renamed). */
function exportedNames(source: string): Set<string> {
  const names = new Set<string>();
  for (const [, list] of source.matchAll(/export (?:type )?\{([^}]*)\}/g)) {
    for (const item of list!.split(',')) {
      const name = item.replace(/^\s*type\s+/, '').split(/\s+as\s+/).at(-1)!.trim();
      if (name) names.add(name);
    }
  }
  return names;
}

describe('@clip-agiqa/core root export list', () => {
  const index = readFileSync(join(ROOT, 'packages/core/src/index.ts'), 'utf8');
  const readme = readFileSync(join(ROOT, 'packages/core/README.md'), 'utf8');
  const table = readme.slice(readme.indexOf('## Public API'), readme.indexOf('A head kind of your own'));
  const documented = new Set([...table.matchAll(/`([A-Za-z_]\w*)`/g)].map((m) => m[1]!));

  it('is documented in the README\'s Public API table, name by name', () => {
    const names = exportedNames(index);
    assert.ok(names.size > 50, `${names.size} names read from index.ts`);
    for (const value of Object.keys(core)) assert.ok(names.has(value), `${value} is exported but not read from index.ts`);
    assert.deepEqual([...names].filter((n) => !documented.has(n)).sort(), [], 'exported but not in packages/core/README.md');
  });

  it('has one way to rank and decide: decide (and decideWire for a wire policy), one Decision shape', () => {
    const deciding = Object.keys(core).filter((n) => /rank|decide|passes|filter|percentile|policy/i.test(n) && !n.endsWith('Error')).sort();
    assert.deepEqual(deciding, ['decide', 'decideWire', 'fromWirePolicy']);
  });
});

describe('@clip-agiqa/core/import: the hub client and the importer behind their own entry', () => {
  const entry = readFileSync(join(ROOT, 'packages/core/src/import.ts'), 'utf8');
  const readme = readFileSync(join(ROOT, 'packages/core/README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('### Importing models: `@clip-agiqa/core/import`'), readme.indexOf('`@clip-agiqa/core/internal` holds'));

  it('exports the importer, documented in its own README section, and the root exports none of it', () => {
    const names = exportedNames(entry);
    assert.deepEqual(Object.keys(coreImport).sort(), ['CLIP_IQA_PAIRS', 'CLIP_LOGIT_SCALE', 'hubEndpoint', 'importModel', 'parseHubRef']);
    for (const value of Object.keys(coreImport)) assert.ok(names.has(value), `${value} is exported but not read from import.ts`);
    const documented = new Set([...section.matchAll(/`([A-Za-z_]\w*)`/g)].map((m) => m[1]!));
    assert.deepEqual([...names].filter((n) => !documented.has(n)).sort(), [], 'exported but not in the README section');
    const root = exportedNames(readFileSync(join(ROOT, 'packages/core/src/index.ts'), 'utf8'));
    assert.deepEqual([...names].filter((n) => root.has(n)), [], 'also exported by the root');
  });

  it('loading the core root loads neither the hub client nor the importer; the import entry does', () => {
    const importer = /\/core\/dist\/bundle\/import\/(?!source-layout\.js)/;
    assert.deepEqual(loadedBy('@clip-agiqa/core').filter((u) => importer.test(u)), [],
      'only source-layout.js (how loadBundle recognises a folder that needs importing) may load with the root');
    const imported = loadedBy('@clip-agiqa/core/import');
    for (const file of ['hub.js', 'import-model.js', 'build-bundle.js']) assert.ok(imported.some((u) => u.endsWith(`/core/dist/bundle/import/${file}`)), file);
  });
});
