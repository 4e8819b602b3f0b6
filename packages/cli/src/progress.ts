/** A one-line progress bar with rate and ETA on a TTY stream; silent elsewhere. */
export class Progress {
  private done = 0;
  private failed = 0;
  private readonly started = performance.now();
  private lastDraw = 0;

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

  private draw(now: number): void {
    const width = 28;
    const fraction = this.total ? this.done / this.total : 1;
    const filled = Math.round(fraction * width);
    const rate = this.done / Math.max((now - this.started) / 1000, 1e-3);
    const eta = rate > 0 ? (this.total - this.done) / rate : 0;
    const bar = '#'.repeat(filled) + '-'.repeat(width - filled);
    const failed = this.failed ? `, ${this.failed} failed` : '';
    this.stream.write(`\r[${bar}] ${this.done}/${this.total}${failed}  ${rate.toFixed(1)} img/s  ETA ${formatSeconds(eta)} `);
  }

  finish(): void {
    if (this.enabled) this.stream.write('\n');
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
