import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import * as core from '@clip-agiqa/core';

import { ROOT } from './support/helpers.js';

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
