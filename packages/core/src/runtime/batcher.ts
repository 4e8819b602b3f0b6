interface Pending<I, O> {
  item: I;
  resolve: (value: O) => void;
  reject: (reason: unknown) => void;
}

/**
 * Groups concurrent requests into batches of at most `batchSize` for one runner at a time.
 *
 * Requests that arrive while a batch runs wait for the next one, so batches fill under load. When the
 * runner is idle a request starts a batch at once, or after `maxWaitMs` if that is set, to gather more.
 */
export class MicroBatcher<I, O> {
  private queue: Pending<I, O>[] = [];
  private running = false;
  private timer: NodeJS.Timeout | undefined;
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly runBatch: (items: I[]) => Promise<O[]>,
    private readonly batchSize: number,
    private readonly maxWaitMs = 0,
  ) {}

  push(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      this.schedule();
    });
  }

  /** Resolves once nothing is queued or running. */
  idle(): Promise<void> {
    if (!this.running && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private schedule(): void {
    if (this.running) return;
    if (this.queue.length >= this.batchSize || this.maxWaitMs <= 0) {
      clearTimeout(this.timer);
      this.timer = undefined;
      setImmediate(() => void this.flush());
    } else {
      this.timer ??= setTimeout(() => {
        this.timer = undefined;
        void this.flush();
      }, this.maxWaitMs);
    }
  }

  private async flush(): Promise<void> {
    if (this.running || this.queue.length === 0) return;
    this.running = true;
    const batch = this.queue.splice(0, this.batchSize);
    try {
      const outputs = await this.runBatch(batch.map((p) => p.item));
      batch.forEach((p, i) => p.resolve(outputs[i]!));
    } catch (e) {
      for (const p of batch) p.reject(e);
    } finally {
      this.running = false;
      if (this.queue.length > 0) this.schedule();
      else for (const w of this.idleWaiters.splice(0)) w();
    }
  }
}
