/**
 * A one-line progress bar with rate and ETA on a TTY stream; silent elsewhere. When the results go to
 * the same terminal, `above()` clears the bar before each result line and draws it again below it, so
 * no line is glued to a stale bar.
 */
export class Progress {
  private done = 0;
  private failed = 0;
  private readonly started = performance.now();
  private lastDraw = 0;
  private drawn = false;

  constructor(private readonly total: number, private readonly stream: NodeJS.WriteStream, private readonly enabled = stream.isTTY === true) {}

  tick(failed: boolean): void {
    this.done++;
    if (failed) this.failed++;
    const now = performance.now();
    if (this.enabled && (now - this.lastDraw > 100 || this.done === this.total)) {
      this.lastDraw = now;
      this.draw(now);
    }
  }

  /** Writes a result line (through `write`) above the bar. */
  above(write: () => void): void {
    if (!this.drawn) return write();
    this.stream.write('\r\x1b[2K');
    this.drawn = false;
    write();
    this.draw(performance.now());
  }

  private draw(now: number): void {
    const width = 28;
    const fraction = this.total ? this.done / this.total : 1;
    const filled = Math.round(fraction * width);
    const rate = this.done / Math.max((now - this.started) / 1000, 1e-3);
    const eta = rate > 0 ? (this.total - this.done) / rate : 0;
    const bar = '#'.repeat(filled) + '-'.repeat(width - filled);
    const failed = this.failed ? `, ${this.failed} failed` : '';
    this.stream.write(`\r\x1b[2K[${bar}] ${this.done}/${this.total}${failed}  ${rate.toFixed(1)} img/s  ETA ${formatSeconds(eta)}`);
    this.drawn = true;
  }

  finish(): void {
    if (this.enabled && this.drawn) this.stream.write('\n');
    this.drawn = false;
  }

  get elapsedSeconds(): number {
    return (performance.now() - this.started) / 1000;
  }
}

export function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return '?';
  const m = Math.floor(s / 60);
  return m > 0 ? `${m}m${Math.round(s % 60).toString().padStart(2, '0')}s` : `${s.toFixed(1)}s`;
}

/** A bundle download's progress on a TTY stream (nothing elsewhere): file, MB received of MB, percent. */
export function downloadProgress(stream: NodeJS.WriteStream): ((p: { file: string; received: number; total: number | null }) => void) | undefined {
  if (stream.isTTY !== true) return undefined;
  let last = 0;
  return ({ file, received, total }) => {
    const now = performance.now();
    const complete = total !== null && received >= total;
    if (now - last < 100 && !complete) return;
    last = now;
    const mb = (n: number) => (n / 1e6).toFixed(1);
    const of = total === null ? '' : `/${mb(total)} MB (${Math.floor((100 * received) / Math.max(total, 1))}%)`;
    stream.write(`\r\x1b[2Kdownloading the model: ${mb(received)}${of} ${file}${complete ? '\n' : ''}`);
  };
}
