import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/**
 * The service's Prometheus metrics (prom-client), one registry per service. Every label has a
 * bounded set of values: route templates from the configuration (`unmatched` for any other path),
 * status classes, verdict types, error codes. A scrape costs the same whatever the traffic was.
 */
export class Metrics {
  readonly registry = new Registry();
  private readonly on = { registers: [this.registry] };

  readonly requests = new Counter({ name: 'clip_agiqa_requests_total', help: 'HTTP requests by route template and status class.', labelNames: ['route', 'status'] as const, ...this.on });
  readonly jobsAccepted = new Counter({ name: 'clip_agiqa_jobs_accepted_total', help: 'Asynchronous jobs accepted, by route.', labelNames: ['route'] as const, ...this.on });
  readonly verdicts = new Counter({ name: 'clip_agiqa_verdicts_total', help: 'Verdicts made, by event type.', labelNames: ['type'] as const, ...this.on });
  readonly fetchFailures = new Counter({ name: 'clip_agiqa_fetch_failures_total', help: 'Image downloads that failed or were refused, by code.', labelNames: ['code'] as const, ...this.on });
  readonly deliveries = new Counter({ name: 'clip_agiqa_deliveries_total', help: 'Verdicts delivered to callbacks.', labelNames: ['outcome'] as const, ...this.on });
  readonly deliveryAttempts = new Counter({ name: 'clip_agiqa_delivery_attempts_total', help: 'Delivery attempts, by outcome.', labelNames: ['outcome'] as const, ...this.on });
  readonly stalledRecoveries = new Counter({ name: 'clip_agiqa_stalled_recoveries_total', help: 'Jobs taken back from a worker that stopped renewing its lock (shared queue).', labelNames: ['queue'] as const, ...this.on });
  readonly requeued = new Counter({ name: 'clip_agiqa_requeued_jobs_total', help: 'Unfinished jobs found missing from the shared queue and queued again.', labelNames: ['queue'] as const, ...this.on });
  readonly deadJobs = new Counter({ name: 'clip_agiqa_dead_jobs_total', help: 'Jobs that failed every attempt of a stage (score or deliver) and are dead.', labelNames: ['stage'] as const, ...this.on });
  readonly deliveryRetries = new Counter({ name: 'clip_agiqa_delivery_retries_total', help: 'Delivery attempts that failed and will be retried or were abandoned.', ...this.on });
  readonly scoringSeconds = new Histogram({
    name: 'clip_agiqa_scoring_seconds', help: 'Time to score one job, grids split and images decoded.', buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30], ...this.on,
  });

  constructor(opts: { processMetrics?: boolean } = {}) {
    if (opts.processMetrics) collectDefaultMetrics({ register: this.registry });
  }

  /** A gauge read at every scrape. */
  gauge(name: string, help: string, read: () => number): void {
    new Gauge({ name, help, ...this.on, collect() { this.set(read()); } });
  }

  render(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}

/** 200 -> "2xx": the status label of a response. */
export const statusClass = (status: number): string => `${Math.floor(status / 100)}xx`;
