import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { ComfyConnectionError, ComfyExecutionError, ComfyValidationError, FrameError, WorkflowError } from '@clip-agiqa/comfyui';
import {
  BundleError, ClipAgiqaError, createScorer, DeviceError, InferenceError, InputError, isClipAgiqaError, isUsageError, MetadataError, PolicyError, UsageError,
} from '@clip-agiqa/core';
import { compileSchema } from '@clip-agiqa/core/internal';
import { CheckpointError, DatasetError, MatFileError, ProtocolError, XlsxError } from '@clip-agiqa/train';
import { ConfigError, FetchError, HttpError, DiskStore, MemoryStore, startCluster, startService, StoreError, StoreUnavailableError, VerificationError, type WebhookConfig } from '@clip-agiqa/webhook';
import { decodeSecret, ed25519Key, parseAllowList } from '@clip-agiqa/webhook/internal';

import { DEMO_MODEL_DIR, tempDir } from './support/helpers.js';

const validateWireError = compileSchema({ $ref: 'https://clip-agiqa.dev/schemas/defs.schema.json#/$defs/error' });

describe('one error family', () => {
  const errors: [string, ClipAgiqaError<string>][] = [
    ['InputError', new InputError('CORRUPT_IMAGE', 'not an image', { input: 'a.png' })],
    ['BundleError', new BundleError('CHECKSUM_MISMATCH', 'tampered')],
    ['DeviceError', new DeviceError('DEVICE_UNAVAILABLE', 'no cuda')],
    ['InferenceError', new InferenceError('WORKER_EXITED', 'inference worker exited (code 1)')],
    ['UsageError', new UsageError('INVALID_ARGUMENT', 'batchSize must be a positive integer')],
    ['MetadataError', new MetadataError('PNG has no IEND chunk')],
    ['DatasetError', new DatasetError('ratings.csv', ['row 2: "abc" is not a number'])],
    ['MatFileError', new MatFileError('not a level-5 MAT-file')],
    ['XlsxError', new XlsxError('no worksheet')],
    ['ProtocolError', new ProtocolError('too small')],
    ['CheckpointError', new CheckpointError('another run')],
    ['ComfyConnectionError', new ComfyConnectionError('refused')],
    ['ComfyValidationError', new ComfyValidationError({ message: 'invalid prompt' }, {})],
    ['ComfyExecutionError', new ComfyExecutionError('p1', '3', 'KSampler', 'out of memory')],
    ['WorkflowError', new WorkflowError('the workflow has no node 9')],
    ['FrameError', new FrameError('short frame')],
    ['PolicyError', new PolicyError('INVALID_POLICY', 'mode filter needs a bar: threshold (on the ranking head) or thresholds (per head)')],
    ['ConfigError', new ConfigError('invalid configuration', ['/port must be integer'])],
    ['HttpError', new HttpError(404, 'NOT_FOUND', 'no such route')],
    ['VerificationError', new VerificationError('bad signature')],
    ['FetchError', new FetchError('BLOCKED_ADDRESS', 'refused 10.0.0.1')],
    ['StoreError', new StoreError('not a blob name: ../x')],
    ['StoreUnavailableError', new StoreUnavailableError(new Error('ECONNREFUSED'))],
  ];

  it('every package\'s errors extend the coded base, name their class and carry a code', () => {
    for (const [name, e] of errors) {
      assert.ok(e instanceof ClipAgiqaError && e instanceof Error, name);
      assert.equal(e.name, name);
      assert.match(e.code, /^[A-Z][A-Z0-9_]*$/, name);
      assert.ok(isClipAgiqaError(e), name);
    }
    assert.equal(isClipAgiqaError(new RangeError('bare')), false);
  });

  it('write the one wire error object', () => {
    for (const [name, e] of errors) {
      const wire = JSON.parse(JSON.stringify(e)) as unknown;
      assert.ok(validateWireError(wire).ok, `${name}: ${JSON.stringify(wire)}`);
    }
    assert.deepEqual(new InputError('CORRUPT_IMAGE', 'not an image', { input: 'a.png' }).toJSON(), { code: 'CORRUPT_IMAGE', message: 'a.png: not an image', input: 'a.png' });
  });

  it('tells usage errors from the others, also across copies of core', () => {
    const usage = errors.filter(([, e]) => isUsageError(e)).map(([name]) => name).sort();
    assert.deepEqual(usage, ['PolicyError', 'UsageError'], 'the CLI\'s own usage errors are checked through the command (cli-errors)');
    // An error made by another copy of the module (two installed versions) is branded the same way.
    const foreign = Object.assign(new Error('x'), { code: 'INVALID_ARGUMENT' });
    for (const brand of ['clip-agiqa.error', 'clip-agiqa.usage-error']) Object.defineProperty(foreign, Symbol.for(brand), { value: true });
    assert.ok(isClipAgiqaError(foreign) && isUsageError(foreign));
  });
});

describe('the webhook refuses what it cannot run with as errors of the family', () => {
  const configError = (pattern: RegExp) => (e: unknown) => e instanceof ConfigError && e.code === 'INVALID_CONFIG' && pattern.test(e.message);

  it('CIDR ranges, secrets and public keys', () => {
    assert.throws(() => parseAllowList(['10.0.0.0/99']), configError(/bad prefix length in 10\.0\.0\.0\/99/));
    assert.throws(() => parseAllowList(['intranet']), configError(/not an IP range: intranet/));
    assert.throws(() => decodeSecret('whsec_'), configError(/non-empty base64/));
    assert.throws(() => ed25519Key('c2hvcnQ='), configError(/32 bytes/));
    assert.throws(() => ed25519Key('-----BEGIN PUBLIC KEY-----\nnot a key\n-----END PUBLIC KEY-----'), configError(/not a usable PEM public key/));
  });

  it('a role without the shared store, and a blob name no store writes', async () => {
    const scorer = await createScorer({ model: DEMO_MODEL_DIR });
    using t = tempDir();
    try {
      const config: WebhookConfig = { port: 0, data_dir: t.dir, routes: [{ path: 'r', verifier: 'bearer', tokens: ['token-of-the-bearer-route-0123456789'] }] };
      await assert.rejects(startService({ config, scorer, store: new MemoryStore(), role: 'worker', log: () => undefined }), configError(/role worker needs the redis store/));
      assert.throws(() => startCluster({ role: 'api', store: { kind: 'journal', retention_s: 1 }, queues: {} as never, work: { store: new MemoryStore() } as never, delivery: null, concurrency: 1, syncWaitMs: 1 }),
        configError(/needs the redis store/));
      const store = await DiskStore.open(t.dir);
      try {
        await assert.rejects(store.readBlob('../../etc/passwd'), (e: unknown) => e instanceof StoreError && e.code === 'INVALID_BLOB_NAME');
      } finally {
        await store.close();
      }
    } finally {
      await scorer.close();
    }
  });
});
