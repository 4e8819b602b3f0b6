import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';

import { CLI } from './helpers.js';

export interface CliRun {
  child: ChildProcessWithoutNullStreams;
  /** Output so far. */
  readonly stdout: string;
  readonly stderr: string;
  /** Resolves once stderr matches. */
  stderrMatches(pattern: RegExp, timeoutMs?: number): Promise<void>;
  done: Promise<{ status: number | null; stdout: string; stderr: string }>;
}

/** The CLI in its own process, as a user runs it (a simulator in the test's process keeps running meanwhile). */
export function startCli(args: string[], env: NodeJS.ProcessEnv = {}, cwd?: string): CliRun {
  const child = spawn(process.execPath, [CLI, ...args], { cwd, env: { ...process.env, FORCE_COLOR: '0', ...env } });
  let stdout = '';
  let stderr = '';
  const waiters: (() => void)[] = [];
  child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
    for (const w of waiters.splice(0)) w();
  });
  const done = new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => child.on('close', (status) => resolve({ status, stdout, stderr })));
  return {
    child, done,
    get stdout() { return stdout; },
    get stderr() { return stderr; },
    async stderrMatches(pattern, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      while (!pattern.test(stderr)) {
        if (Date.now() > deadline || child.exitCode !== null) throw new Error(`stderr never matched ${pattern}:\n${stderr}`);
        await new Promise<void>((r) => { waiters.push(r); setTimeout(r, 100); });
      }
    },
  };
}

/** The CLI run to its end (in `cwd`, when given). */
export function cli(args: string[], env: NodeJS.ProcessEnv = {}, cwd?: string): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return startCli(args, env, cwd).done;
}
