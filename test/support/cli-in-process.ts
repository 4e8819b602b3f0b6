import { Writable } from 'node:stream';

import type { CliIO } from '../../packages/cli/dist/io.js';
import { main } from '../../packages/cli/dist/main.js';

/** A stream that keeps what is written to it. */
class Captured extends Writable {
  text = '';
  override _write(chunk: Buffer | string, _encoding: BufferEncoding, done: () => void): void {
    this.text += chunk.toString();
    done();
  }
}

/**
 * The CLI's main() run in this process with its output captured: the exit status it returns, stdout and
 * stderr as a pipe would carry them (not a terminal). What needs a process of its own (a signal, a TTY,
 * the process's exit or memory, what it loads, another working folder) runs through cli-process.ts:
 * the scorer's worker threads resolve the test's --import tsx from the working folder, which stays.
 */
export async function cli(args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  const stdout = new Captured();
  const stderr = new Captured();
  const io: CliIO = { stdout, stderr: stderr as unknown as NodeJS.WriteStream };
  const status = await main(args, io);
  return { status, stdout: stdout.text, stderr: stderr.text };
}
