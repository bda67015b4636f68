// Keeps the outbox small: deletes rows some time after their publication was
// acknowledged and, when NATS is not configured (the embedded default), bounds
// the unsent backlog by dropping the oldest coordinator events (saga, step and
// alert events under the subject prefix) with a warning and a counter. Other
// modules' rows (transactional messages) are never dropped, and with NATS
// configured nothing unsent is ever dropped: the backlog waits for NATS.

import type { Logger } from 'pino';
import type { CoordinatorMetrics } from '../metrics/coordinator-metrics.js';
import type { Store } from '../store/store.js';

export interface OutboxPrunerOptions {
  readonly store: Store;
  readonly metrics: CoordinatorMetrics;
  readonly logger: Logger;
  /** Sent rows are deleted this long after they were sent. */
  readonly keepSentMs: number;
  readonly intervalMs: number;
  /** Rows per delete. */
  readonly batch: number;
  /** The unsent bound, only without NATS; undefined = unbounded. */
  readonly bound?: { readonly maxUnsent: number; readonly subjectPrefixes: readonly string[] };
  readonly now?: () => number;
}

export class OutboxPruner {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(private readonly options: OutboxPrunerOptions) {}

  start(): void {
    this.timer = setInterval(() => {
      if (this.running !== undefined) return;
      this.running = this.prune()
        .then(() => undefined)
        .catch((err: unknown) => this.options.logger.error({ err }, 'outbox pruning failed'))
        .finally(() => (this.running = undefined));
    }, this.options.intervalMs);
    this.timer.unref();
  }

  /** One pass: sent rows past their keep time, then the unsent bound. */
  async prune(): Promise<{ deleted: number; dropped: number }> {
    const { store, batch } = this.options;
    const before = (this.options.now ?? Date.now)() - this.options.keepSentMs;
    let deleted = 0;
    for (;;) {
      const n = await store.deleteSentOutbox(before, batch);
      deleted += n;
      if (n < batch) break;
    }
    let dropped = 0;
    const bound = this.options.bound;
    if (bound !== undefined) {
      let excess = (await store.outboxBacklog()).unsent - bound.maxUnsent;
      while (excess > 0) {
        const n = await store.dropOldestUnsentOutbox(Math.min(excess, batch), bound.subjectPrefixes);
        if (n === 0) break;
        dropped += n;
        excess -= n;
      }
      if (dropped > 0) {
        this.options.metrics.outboxDropped.inc(dropped);
        this.options.logger.warn(
          { dropped, maxUnsent: bound.maxUnsent },
          'outbox full and NATS not configured: dropped the oldest unsent events (configure nats.servers to publish them)',
        );
      }
    }
    return { deleted, dropped };
  }

  async close(): Promise<void> {
    if (this.timer !== undefined) clearInterval(this.timer);
    await this.running;
  }
}
