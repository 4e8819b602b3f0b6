// Small utilities every clip-agiqa package needs the same way (exported through '@clip-agiqa/core/internal').
import { timingSafeEqual } from 'node:crypto';
import { closeSync, fsyncSync, openSync } from 'node:fs';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';

let temporaries = 0;

/** Flushes a folder's entries to disk, so that a file just renamed into it survives a power cut. */
export function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Writes a file whole or not at all: into a temporary file beside it (a name of its own, so concurrent
 * writers of one path each finish whole), then renamed over it. With `fsync` the data and the folder
 * entry are also flushed to disk before it resolves, so that the file survives a crash of the machine.
 * `mode` sets the new file's permissions (before the umask), e.g. 0o600 for private data.
 */
export async function writeAtomically(path: string, data: string | Uint8Array, options: { fsync?: boolean; mkdir?: boolean; mode?: number } = {}): Promise<void> {
  if (options.mkdir ?? true) await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.${temporaries++}.tmp`;
  try {
    const fh = await open(tmp, 'w', options.mode ?? 0o666);
    try {
      await fh.writeFile(data);
      if (options.fsync) await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
  if (options.fsync) fsyncDir(dirname(path));
}

/** A structured log line: a level, a message and any fields. */
export type LogLine = Record<string, unknown> & { level: 'info' | 'warn' | 'error'; msg: string };
export type Log = (line: LogLine) => void;

/** A logger writing one JSON object per line, the time first (to stderr by default). */
export function jsonLineLog(stream: { write(text: string): unknown } = process.stderr): Log {
  return (line) => stream.write(`${JSON.stringify({ time: new Date().toISOString(), ...line })}\n`);
}

/** Compares secrets (tokens, signatures) in a time that does not depend on where they differ. */
export function constantTimeEqual(a: string | Uint8Array, b: string | Uint8Array): boolean {
  const x = typeof a === 'string' ? Buffer.from(a) : a;
  const y = typeof b === 'string' ? Buffer.from(b) : b;
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Incoming HTTP headers as Node gives them: lower-case names, repeated ones as arrays. */
export type HeaderBag = Readonly<Record<string, string | string[] | undefined>>;

/** One header's value (the first, when it was sent more than once), looked up case-insensitively. */
export function header(headers: HeaderBag, name: string): string | undefined {
  const v = headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}
