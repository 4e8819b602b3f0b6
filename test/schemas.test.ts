import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import { addSchemas, compileSchema } from '@clip-agiqa/core/internal';

import { ROOT } from './support/helpers.js';

describe('wire-format schemas', () => {
  it('compile under ajv strict mode, references to each other resolved', () => {
    const schemas = readdirSync(join(ROOT, 'schemas')).map((f) => [f, JSON.parse(readFileSync(join(ROOT, 'schemas', f), 'utf8')) as object] as const);
    addSchemas(...schemas.map(([, s]) => s));
    for (const [f, schema] of schemas) assert.doesNotThrow(() => compileSchema(schema), f);
  });

  it('match the generated TypeScript modules', () => {
    const r = spawnSync(process.execPath, [join(ROOT, 'scripts/gen-schemas.mjs'), '--check'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
  });
});
