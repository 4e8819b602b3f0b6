import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import { cli } from './support/cli-in-process.js';
import { closedPort, IMAGES, ROOT, tempDir } from './support/helpers.js';

const STACK = /^\s+at /m;

/** One clear line (plus the usage hint for usage errors), never a stack trace. */
function assertReported(r: { status: number | null; stderr: string }, status: number, pattern: RegExp): void {
  assert.equal(r.status, status, r.stderr);
  assert.match(r.stderr, pattern);
  assert.doesNotMatch(r.stderr, STACK, `a stack trace reached the user:\n${r.stderr}`);
}

const workflow = { 1: { class_type: 'EmptyImage', inputs: { width: 8, height: 8, batch_size: 1, color: 0 } }, 2: { class_type: 'SaveImageWebsocket', inputs: { images: ['1', 0] } } };

describe('clip-agiqa error reporting', async () => {
  it('usage errors exit 2 with the usage hint', async () => {
    assertReported(await cli(['frobnicate']), 2, /unknown command frobnicate\nRun clip-agiqa --help for usage\./);
    assertReported(await cli(['score', '--no-such-flag', 'x.jpg']), 2, /Run clip-agiqa --help/);
    assertReported(await cli(['score', join(IMAGES, 'no-such.jpg')]), 2, /no such file or folder/);
  });

  it('core errors exit 1 with their code', async () => {
    assertReported(await cli(['score', '--model', join(ROOT, 'no-such-bundle'), join(IMAGES, 'square.png')]), 1, /^clip-agiqa: \[BUNDLE_NOT_FOUND\] /m);
  });

  it('train errors exit 1 with their code', async () => {
    using t = tempDir();
    writeFileSync(join(t.dir, 'ratings.csv'), 'path,mos\nmissing.jpg,3\n');
    assertReported(await cli(['train', '--dataset', 'csv', '--data', join(t.dir, 'ratings.csv')]), 1, /^clip-agiqa: \[INVALID_DATASET\] .*1 problem/m);
  });

  it('ComfyUI errors exit 1 with their code: a wrong --seed-node, an unreachable server', async () => {
    using t = tempDir();
    const file = join(t.dir, 'workflow.json');
    writeFileSync(file, JSON.stringify(workflow));
    const host = `http://127.0.0.1:${await closedPort()}`;
    assertReported(await cli(['comfy', 'best-of', '--workflow', file, '--n', '1', '--host', host, '--seed-node', '9']), 1, /^clip-agiqa: \[WORKFLOW_INVALID\] the workflow has no node 9$/m);
    assertReported(await cli(['comfy', 'best-of', '--workflow', file, '--n', '1', '--host', host, '--seed-node', '1.color']), 1, /^clip-agiqa: \[COMFY_UNREACHABLE\] /m);
  });

  it('webhook configuration errors exit 1 with their code: schema, CIDR range, secret, public key, a role without Redis', async () => {
    using t = tempDir();
    const serve = async (config: object, ...flags: string[]) => {
      const file = join(t.dir, 'serve.json');
      writeFileSync(file, JSON.stringify(config));
      return cli(['serve', '--config', file, ...flags]);
    };
    const route = { path: 'jobs', verifier: 'bearer', tokens: ['token-of-the-bearer-route-0123456789'] };
    const valid = { port: 0, data_dir: join(t.dir, 'data'), routes: [route] };
    assertReported(await serve({ port: 'eighty' }), 1, /^clip-agiqa: \[INVALID_CONFIG\] [\s\S]*\/port must be integer/m);
    assertReported(await serve({ ...valid, callback: { allow: ['10.0.0.0/99'] } }), 1, /^clip-agiqa: \[INVALID_CONFIG\] [\s\S]*callback\.allow: bad prefix length in 10\.0\.0\.0\/99/m);
    assertReported(await serve({ ...valid, routes: [{ path: 'jobs', verifier: 'standard-webhooks', secrets: ['whsec_QQ=='] }] }), 1, /^clip-agiqa: \[INVALID_CONFIG\] [\s\S]*secret 1 decodes to 1 bytes/m);
    assertReported(await serve({ ...valid, routes: [{ path: 'fal', verifier: 'fal', public_keys: ['c2hvcnQ='] }] }), 1, /^clip-agiqa: \[INVALID_CONFIG\] [\s\S]*public key 1: an ED25519 public key is 32 bytes/m);
    assertReported(await serve(valid, '--role', 'api'), 1, /^clip-agiqa: \[INVALID_CONFIG\] --role api needs "store": \{"kind": "redis"/m);
    assertReported(await serve(valid, '--role', 'primary'), 2, /^clip-agiqa: --role must be one of all, api, worker, got primary\nRun clip-agiqa --help/m);
  });

  it('report errors exit 1 with their code', async () => {
    using t = tempDir();
    const lines = join(t.dir, 'scores.jsonl');
    writeFileSync(lines, 'not a score record\n');
    assertReported(await cli(['report', lines, '--html', join(t.dir, 'report.html')]), 1, /^clip-agiqa: \[SCHEMA_VIOLATION\] .*scores\.jsonl: 1 bad line/m);
  });

  it('every command that scores takes the same model flags, checked the same way', async () => {
    using t = tempDir();
    const file = join(t.dir, 'workflow.json');
    writeFileSync(file, JSON.stringify(workflow));
    const flags = ['--model DIR|URL', '--device D', '--threads N', '--precision P'];
    for (const command of [['score'], ['train'], ['eval'], ['embed'], ['bridge'], ['serve'], ['comfy']]) {
      const r = await cli([...command, '--help']);
      for (const flag of flags) assert.ok(r.stdout.includes(flag), `${command.join(' ')} --help lacks ${flag}:\n${r.stdout}`);
    }
    assertReported(await cli(['score', '--device', 'tpu', join(IMAGES, 'square.png')]), 2, /--device must be one of cpu, cuda, webgpu, auto/);
    assertReported(await cli(['bridge', '--precision', 'fp8']), 2, /--precision must be one of fp32, int8, fp16, bf16/);
    assertReported(await cli(['comfy', 'best-of', '--workflow', file, '--n', '1', '--threads', '0']), 2, /--threads must be a positive integer/);
  });

  it('an unexpected error is one line; --verbose adds its stack', async () => {
    const csv = join(ROOT, 'no-such-folder', 'scores.csv');
    assertReported(await cli(['score', '--csv', csv, join(IMAGES, 'square.png')]), 1, /^clip-agiqa: ENOENT: .*no-such-folder\/scores\.csv'\nRun again with --verbose/m);
    const verbose = await cli(['--verbose', 'score', '--csv', csv, join(IMAGES, 'square.png')]);
    assert.equal(verbose.status, 1);
    assert.match(verbose.stderr, STACK);
  });
});
