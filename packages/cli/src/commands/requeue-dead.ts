import { parseArgs } from 'node:util';

import { loadConfig, openStore, requeueDead, resolveConfig } from '@clip-agiqa/webhook';

import type { CliIO } from '../io.js';

export const REQUEUE_DEAD_USAGE = `Usage: clip-agiqa serve requeue-dead --config FILE [--route PATH] [--job ID]...

Queues the dead jobs of the configured store again (those that failed every attempt to score or to
deliver): a job that died scoring is fetched and scored again with its attempts reset, one that died
delivering is delivered again under its webhook-id. A running service takes them within 30 s (on
Redis at once). Prints the ids re-queued, one a line.

Options:
  --config FILE   the service's configuration (its store and data_dir)
  --route PATH    only this route's dead jobs
  --job ID        only this job (the sender's job_id; repeatable)`;

export async function requeueDeadCommand(argv: string[], io: CliIO): Promise<number> {
  const { values } = parseArgs({ args: argv, strict: true, options: {
    config: { type: 'string' }, route: { type: 'string' }, job: { type: 'string', multiple: true }, help: { type: 'boolean', short: 'h', default: false },
  } });
  if (values.help) {
    io.stdout.write(`${REQUEUE_DEAD_USAGE}\n`);
    return 0;
  }
  const resolved = resolveConfig(await loadConfig(values.config, {}));
  const jobs = values.job ? new Set(values.job) : null;
  const opened = await openStore(resolved);
  try {
    const ids = await requeueDead(opened.store, opened.queues, (r) => (!values.route || r.route === values.route) && (!jobs || jobs.has(r.job.job_id)));
    for (const id of ids) io.stdout.write(`${id}\n`);
    io.stderr.write(`clip-agiqa serve requeue-dead: ${ids.length} dead job(s) queued again\n`);
  } finally {
    await opened.close();
  }
  return 0;
}
