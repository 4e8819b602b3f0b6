import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Served {
  url: string;
  /** The server's resident memory now and at its peak (VmHWM), in MB. */
  rss(): { rssMb: number; peakMb: number };
  stop(): Promise<void>;
}

/** Runs `clip-agiqa serve` with `config` (written to `dir/name.json`) and resolves once it listens. */
export async function serve(root: string, dir: string, name: string, config: unknown): Promise<Served> {
  const file = join(dir, `${name}.json`);
  writeFileSync(file, JSON.stringify(config));
  const child = spawn(process.execPath, [join(root, 'packages/cli/bin/clip-agiqa.js'), 'serve', '--config', file], { stdio: ['ignore', 'pipe', 'ignore'] });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); const m = /listening on (\S+)/.exec(out); if (m) resolve(m[1]!); });
    child.once('exit', (code) => reject(new Error(`serve exited with ${code}`)));
  });
  return {
    url,
    rss() {
      const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
      const kb = (key: string) => Number(new RegExp(`${key}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
      return { rssMb: kb('VmRSS') / 1024, peakMb: kb('VmHWM') / 1024 };
    },
    async stop() {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    },
  };
}

/** POSTs a JSON payload to a bearer route; resolves with the status once the answer is read. */
export async function postJob(url: string, route: string, token: string, payload: unknown): Promise<number> {
  const r = await fetch(`${url}/hooks/${route}`, { method: 'POST', body: JSON.stringify(payload), headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` } });
  await r.arrayBuffer();
  return r.status;
}
