import { parseArgs } from 'node:util';

import { ConfigError, loadConfig, openStore, redisAddress, resolveConfig, startService, waitForRedis, type ResolvedConfig, type Role, type WebhookConfig } from '@clip-agiqa/webhook';

import { CliUsageError, parseNumber, positiveInteger, type CliIO } from '../io.js';
import { startupHealth } from './startup-health.js';
import { SCORER_FLAGS, SCORER_FLAGS_HELP, scorerFromFlags } from '../scorer-flags.js';

export const SERVE_USAGE = `Usage: clip-agiqa serve --config FILE [options]

Runs the webhook service: generation platforms post finished images, it filters, ranks or picks the
best of them and answers with the verdict, or (with callback_url) acknowledges at once and delivers the
verdict later as a signed event. Accepted jobs and pending deliveries are kept on disk (data_dir) and
survive a crash; with "store": {"kind": "redis", "url": ...} they are kept in Redis, queued with BullMQ,
and any number of replicas of each role share them. Configuration: schemas/webhook-config.schema.json; environment variables
CLIP_AGIQA_HOST, CLIP_AGIQA_PORT, CLIP_AGIQA_MODEL, CLIP_AGIQA_DATA_DIR, CLIP_AGIQA_CALLBACK_SECRET
override the file, flags override both.

Operator command: clip-agiqa serve requeue-dead --config FILE (queues dead jobs again; see its --help).

Options:
  --config FILE      JSON configuration
  --role R           all (default): accept and score; api: verify, validate and queue (sync requests
                     wait for a worker's verdict); worker: fetch, score and deliver. api and worker
                     need the redis store.
  --host H, --port N, --data-dir DIR
  --status-page      serve read-only HTML status pages: GET /status (the operator's token from
                     $CLIP_AGIQA_STATUS_TOKEN) and GET /status/<route> (also that route's bearer tokens);
                     without a token only on a loopback host
${SCORER_FLAGS_HELP}
                         (--model and --device override the configuration's model and device)`;

const ROLES: readonly Role[] = ['all', 'api', 'worker'];

/**
 * Waits for Redis before anything else, with the port answering probes meanwhile: false when a signal
 * stopped the wait; a permanent cause, or a transient one outlasting store.connect_wait_s, is thrown (exit 1).
 */
async function redisAnswers(resolved: ResolvedConfig, stopped: Promise<void>, io: CliIO): Promise<boolean> {
  const store = resolved.store as Extract<ResolvedConfig['store'], { kind: 'redis' }>;
  let why = `connecting to Redis at ${redisAddress(store.url)}`;
  const health = await startupHealth(resolved.host, resolved.port, () => why);
  const stop = new AbortController();
  void stopped.then(() => stop.abort());
  try {
    await waitForRedis(store.url, { waitMs: store.connect_wait_s * 1000, signal: stop.signal, onRetry: (e, delayMs) => {
      why = e.message;
      io.stderr.write(`clip-agiqa serve: ${e.message}; retrying in ${(delayMs / 1000).toFixed(1)} s (gives up after store.connect_wait_s ${store.connect_wait_s} s); health on ${health.url}\n`);
    } });
    return true;
  } catch (e) {
    if (stop.signal.aborted) {
      io.stderr.write(`clip-agiqa serve: stopped while waiting for Redis (${why})\n`);
      return false;
    }
    throw e;
  } finally {
    await health.close();
  }
}

export async function serveCommand(argv: string[], io: CliIO): Promise<number> {
  if (argv[0] === 'requeue-dead') return (await import('./requeue-dead.js')).requeueDeadCommand(argv.slice(1), io);
  const { values } = parseArgs({ args: argv, strict: true, options: {
    ...SCORER_FLAGS, device: { type: 'string' }, config: { type: 'string' }, role: { type: 'string', default: 'all' }, host: { type: 'string' }, port: { type: 'string' }, 'data-dir': { type: 'string' },
    'status-page': { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h', default: false },
  } });
  if (values.help) {
    io.stdout.write(`${SERVE_USAGE}\n`);
    return 0;
  }
  const role = values.role as Role;
  if (!ROLES.includes(role)) throw new CliUsageError(`--role must be one of ${ROLES.join(', ')}, got ${values.role}`);
  const port = parseNumber('port', values.port, (n) => n === 0 || positiveInteger(n), 'a port number');
  const overrides: Partial<WebhookConfig> = {
    ...(values.host ? { host: values.host } : {}), ...(port !== undefined ? { port } : {}),
    ...(values.model ? { model: values.model } : {}), ...(values['data-dir'] ? { data_dir: values['data-dir'] } : {}),
  };
  // Signals are taken from the start: one that arrives while the model loads still shuts down cleanly.
  const stopped = new Promise<void>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
  });
  const config = await loadConfig(values.config, overrides);
  const resolved = resolveConfig(config);
  if (role !== 'all' && resolved.store.kind !== 'redis') throw new ConfigError(`--role ${role} needs "store": {"kind": "redis", "url": ...} in the configuration`);
  if (resolved.store.kind === 'redis' && !(await redisAnswers(resolved, stopped, io))) return 0;
  const scorer = await scorerFromFlags({ ...values, model: config.model, device: values.device ?? config.device }, io);
  const opened = await openStore(resolved);
  const { store, queues } = opened;
  let service;
  try {
    const statusToken = process.env.CLIP_AGIQA_STATUS_TOKEN;
    service = await startService({ config, scorer, store, queues, role, ...(values['status-page'] ? { statusPage: statusToken ? { token: statusToken } : {} } : {}) });
    io.stdout.write(`clip-agiqa serve: listening on ${service.url} (role ${role})\n`);
    await stopped;
    io.stderr.write('clip-agiqa serve: shutting down, finishing jobs in progress\n');
    await service.close();
  } finally {
    await opened.close();
    await scorer.close();
  }
  return 0;
}
