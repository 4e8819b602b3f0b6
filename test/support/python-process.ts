import { spawn } from 'node:child_process';

import { PYTHON, ROOT } from './helpers.js';

/** Runs a Python script of the repository (stdout and stderr together), killed after timeoutMs. */
export function runPython(args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 300_000): Promise<{ status: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(PYTHON, args, { cwd: ROOT, env: { ...process.env, ...env } });
    let output = '';
    child.stdout.on('data', (d: Buffer) => { output += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { output += d.toString(); });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (status) => { clearTimeout(timer); resolve({ status, output }); });
  });
}
