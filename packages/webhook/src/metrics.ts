/** Counters, gauges and one latency histogram, exposed in Prometheus' text format. */
export class Metrics {
  private readonly counters = new Map<string, number>();
  private readonly gauges = new Map<string, () => number>();
  private readonly buckets = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
  private readonly histogram = { counts: new Array<number>(12).fill(0), sum: 0, count: 0 };

  inc(name: string, labels: Record<string, string> = {}, by = 1): void {
    const key = `${name}${formatLabels(labels)}`;
    this.counters.set(key, (this.counters.get(key) ?? 0) + by);
  }

  gauge(name: string, read: () => number): void {
    this.gauges.set(name, read);
  }

  observeScoring(seconds: number): void {
    const i = this.buckets.findIndex((b) => seconds <= b);
    this.histogram.counts[i < 0 ? this.buckets.length : i]!++;
    this.histogram.sum += seconds;
    this.histogram.count++;
  }

  render(): string {
    const lines: string[] = [];
    const byName = new Map<string, string[]>();
    for (const [key, v] of this.counters) {
      const name = key.replace(/\{.*$/, '');
      byName.set(name, [...(byName.get(name) ?? []), `${key} ${v}`]);
    }
    for (const [name, rows] of byName) lines.push(`# TYPE ${name} counter`, ...rows);
    for (const [name, read] of this.gauges) lines.push(`# TYPE ${name} gauge`, `${name} ${read()}`);
    const h = 'clip_agiqa_scoring_seconds';
    lines.push(`# TYPE ${h} histogram`);
    let cumulative = 0;
    this.buckets.forEach((b, i) => {
      cumulative += this.histogram.counts[i]!;
      lines.push(`${h}_bucket{le="${b}"} ${cumulative}`);
    });
    lines.push(`${h}_bucket{le="+Inf"} ${this.histogram.count}`, `${h}_sum ${this.histogram.sum}`, `${h}_count ${this.histogram.count}`);
    return `${lines.join('\n')}\n`;
  }
}

function formatLabels(labels: Record<string, string>): string {
  const entries = Object.entries(labels);
  return entries.length ? `{${entries.map(([k, v]) => `${k}="${v.replace(/["\\\n]/g, '_')}"`).join(',')}}` : '';
}
