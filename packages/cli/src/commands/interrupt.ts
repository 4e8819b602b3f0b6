/**
 * Ctrl-C for a command that must clean up: the first SIGINT resolves `interrupted` (the command then
 * cleans up, reports what it has and exits 130); a second one exits at once.
 */
export function watchInterrupt(onSecond: () => void = () => process.exit(130)): { interrupted: Promise<void>; dispose(): void } {
  let resolve!: () => void;
  const interrupted = new Promise<void>((r) => { resolve = r; });
  let count = 0;
  const handler = () => {
    if (++count === 1) resolve();
    else onSecond();
  };
  process.on('SIGINT', handler);
  return { interrupted, dispose: () => process.off('SIGINT', handler) };
}

/** Exit status of a run stopped by Ctrl-C (128 + SIGINT), as a shell reports it. */
export const EXIT_INTERRUPTED = 130;
