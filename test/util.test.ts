import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import { constantTimeEqual, header, jsonLineLog, writeAtomically } from '@clip-agiqa/core/internal';

import { tempDir } from './support/helpers.js';

describe('core utilities', () => {
  it('writes files whole: concurrent writers of one path, with or without fsync, leave no temporaries', async () => {
    using t = tempDir();
    const path = join(t.dir, 'nested', 'value.bin');
    const values = Array.from({ length: 20 }, (_, i) => Buffer.alloc(64 * 1024, i));
    await Promise.all(values.map((v, i) => writeAtomically(path, v, { fsync: i % 2 === 0 })));
    const written = readFileSync(path);
    assert.ok(values.some((v) => v.equals(written)), 'the file is one whole write');
    assert.deepEqual(readdirSync(join(t.dir, 'nested')), ['value.bin']);
  });

  it('removes its temporary file when the write fails', async () => {
    using t = tempDir();
    mkdirSync(join(t.dir, 'taken'));
    await assert.rejects(writeAtomically(join(t.dir, 'taken'), 'x'));
    assert.deepEqual(readdirSync(t.dir), ['taken']);
  });

  it('compares secrets and reads headers', () => {
    assert.equal(constantTimeEqual('token-a', 'token-a'), true);
    assert.equal(constantTimeEqual('token-a', 'token-b'), false);
    assert.equal(constantTimeEqual('short', 'longer'), false);
    assert.equal(constantTimeEqual(Buffer.from('ab'), 'ab'), true);
    assert.equal(header({ 'webhook-id': ['m1', 'm2'] }, 'Webhook-ID'), 'm1');
    assert.equal(header({ authorization: 'Bearer x' }, 'authorization'), 'Bearer x');
    assert.equal(header({}, 'x-missing'), undefined);
  });

  it('logs one JSON object per line, the time first', () => {
    const lines: string[] = [];
    jsonLineLog({ write: (s: string) => lines.push(s) })({ level: 'warn', msg: 'disk nearly full', free: 3 });
    assert.equal(lines.length, 1);
    assert.ok(lines[0]!.endsWith('\n'));
    const entry = JSON.parse(lines[0]!) as Record<string, unknown>;
    assert.deepEqual(Object.keys(entry), ['time', 'level', 'msg', 'free']);
    assert.ok(!Number.isNaN(Date.parse(entry.time as string)));
  });
});
