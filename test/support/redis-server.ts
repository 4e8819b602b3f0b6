// A private redis-server for tests: a free loopback port, a temporary folder, stopped (or killed) by the test.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const BINARY = process.env.REDIS_SERVER ?? 'redis-server';

/** Why no redis-server can be started here, or null when one can. Under CI=true a missing server is a failure, not a skip. */
export function redisUnavailable(): string | null {
  const r = spawnSync(BINARY, ['--version'], { encoding: 'utf8' });
  const reason = r.error ? `${BINARY} not found (${r.error.message}); install Debian's redis-server` : r.status !== 0 ? `${BINARY} --version failed: ${r.stderr}` : null;
  if (reason && process.env.CI === 'true') throw new Error(`${reason} (CI=true: tests that need Redis may not skip)`);
  return reason;
}

/** A loopback port free at the time of the call. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export interface RedisServerOptions {
  /** Append-only file with fsync on every write: a restart keeps every acknowledged write. */
  aof?: boolean;
  /** This port instead of a free one (a server that appears where a client already waits). */
  port?: number;
  /** More redis-server arguments, e.g. ['--requirepass', 'x']. */
  args?: string[];
}

export class RedisServer {
  private child: ChildProcess | null = null;
  private log = '';

  private constructor(readonly port: number, readonly dir: string, private readonly opts: RedisServerOptions) {}

  static async start(opts: RedisServerOptions = {}): Promise<RedisServer> {
    const dir = mkdtempSync(join(tmpdir(), 'clip-agiqa-redis-'));
    for (let attempt = 0; ; attempt++) {
      const server = new RedisServer(opts.port ?? await freePort(), dir, opts);
      try {
        await server.launch();
        return server;
      } catch (e) {
        if (attempt >= 4) {
          rmSync(dir, { recursive: true, force: true });
          throw e;
        }
      }
    }
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}/0`;
  }

  get running(): boolean {
    return this.child !== null;
  }

  private launch(): Promise<void> {
    const args = ['--port', String(this.port), '--bind', '127.0.0.1', '--dir', this.dir, '--save', '', '--daemonize', 'no',
      '--appendonly', this.opts.aof ? 'yes' : 'no', '--appendfsync', 'always', '--protected-mode', 'yes', '--loglevel', 'notice', ...(this.opts.args ?? [])];
    const child = spawn(BINARY, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.log = '';
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`redis-server did not start in 10 s:\n${this.log}`)); }, 10_000);
      const onData = (d: Buffer): void => {
        this.log += d.toString();
        if (/Ready to accept connections/.test(this.log)) {
          clearTimeout(timer);
          this.child = child;
          resolve();
        }
      };
      child.stdout!.on('data', onData);
      child.stderr!.on('data', onData);
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        if (this.child === child) this.child = null;
        reject(new Error(`redis-server exited (${code ?? signal}):\n${this.log}`));
      });
    });
  }

  private async end(signal: NodeJS.Signals): Promise<void> {
    const child = this.child;
    if (!child) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill(signal);
    await exited;
    this.child = null;
  }

  /** Stops the server the way an operator would (SIGTERM: it flushes the AOF and exits). */
  stop(): Promise<void> {
    return this.end('SIGTERM');
  }

  /** Kills the server without warning: only what the AOF already holds survives. */
  kill(): Promise<void> {
    return this.end('SIGKILL');
  }

  /** Starts the server again on the same port and folder (after stop() or kill()). */
  async restart(): Promise<void> {
    if (this.child) await this.stop();
    await this.launch();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.kill();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
