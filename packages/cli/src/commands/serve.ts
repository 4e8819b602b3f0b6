import { parseArgs } from 'node:util';

import { createScorer, DEMO_MODEL_DIR, type Device } from '@clip-agiqa/core';
import { loadConfig, openStore, resolveConfig, startService, type Role, type WebhookConfig } from '@clip-agiqa/webhook';

import { parseNumber, positiveInteger, type CliIO } from '../io.js';

export const SERVE_USAGE = `Usage: clip-agiqa serve --config FILE [options]

Runs the webhook service: generation platforms post finished images, it filters, ranks or picks the
best of them and answers with the verdict, or (with callback_url) acknowledges at once and delivers the
verdict later as a signed event. Accepted jobs and pending deliveries are kept on disk (data_dir) and
survive a crash; with "store": {"kind": "redis", "url": ...} they are kept in Redis, queued with BullMQ,
and any number of replicas of each role share them. Configuration: schemas/webhook-config.schema.json; environment variables
CLIP_AGIQA_HOST, CLIP_AGIQA_PORT, CLIP_AGIQA_MODEL, CLIP_AGIQA_DATA_DIR, CLIP_AGIQA_CALLBACK_SECRET
override the file, flags override both.

Options:
  --config FILE      JSON configuration
  --role R           all (default): accept and score; api: verify, validate and queue (sync requests
                     wait for a worker's verdict); worker: fetch, score and deliver. api and worker
                     need the redis store.
  --host H, --port N, --model DIR|URL, --data-dir DIR`;

const ROLES: readonly Role[] = ['all', 'api', 'worker'];

export async function serveCommand(argv: string[], io: CliIO): Promise<number> {
  const { values } = parseArgs({ args: argv, strict: true, options: {
    config: { type: 'string' }, role: { type: 'string', default: 'all' }, host: { type: 'string' }, port: { type: 'string' }, model: { type: 'string' }, 'data-dir': { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  } });
  if (values.help) {
    io.stdout.write(`${SERVE_USAGE}\n`);
    return 0;
  }
  const role = values.role as Role;
  if (!ROLES.includes(role)) throw new RangeError(`--role must be one of ${ROLES.join(', ')}, got ${values.role}`);
  const port = parseNumber('port', values.port, (n) => n === 0 || positiveInteger(n), 'a port number');
  const overrides: Partial<WebhookConfig> = {
    ...(values.host ? { host: values.host } : {}), ...(port !== undefined ? { port } : {}),
    ...(values.model ? { model: values.model } : {}), ...(values['data-dir'] ? { data_dir: values['data-dir'] } : {}),
  };
  const config = await loadConfig(values.config, overrides);
  const resolved = resolveConfig(config);
  if (role !== 'all' && resolved.store.kind !== 'redis') throw new RangeError(`--role ${role} needs "store": {"kind": "redis", "url": ...} in the configuration`);
  // An API replica scores nothing itself: it loads no model.
  const scorer = role === 'api' ? undefined : await createScorer({ model: config.model ?? DEMO_MODEL_DIR, device: (config.device ?? 'cpu') as Device });
  const opened = await openStore(resolved.store, resolved.dataDir, resolved.callback);
  const service = await startService({ config, scorer, store: opened.store, queues: opened.queues, role });
  io.stdout.write(`clip-agiqa serve: listening on ${service.url} (role ${role})\n`);
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
  io.stderr.write('clip-agiqa serve: shutting down, finishing jobs in progress\n');
  await service.close();
  await opened.close();
  await scorer?.close();
  return 0;
}
