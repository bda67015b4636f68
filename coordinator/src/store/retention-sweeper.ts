// Deletes finished sagas (COMPLETED, COMPENSATED, RESOLVED) once they are older
// than the retention period, in batches, so the log does not grow forever.
// MANUAL sagas are never deleted: they wait for a human.

import type { Logger } from 'pino';
import type { Store } from './store.js';

export interface RetentionOptions {
  readonly store: Store;
  readonly logger: Logger;
  readonly retentionMs: number;
  readonly intervalMs: number;
  readonly batch: number;
  readonly now?: () => number;
}

export class RetentionSweeper {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<number> | undefined;

  constructor(private readonly options: RetentionOptions) {}

  start(): void {
    this.timer = setInterval(() => {
      if (this.running === undefined) {
        this.running = this.sweep()
          .catch((err: unknown) => {
            this.options.logger.error({ err }, 'retention sweep failed');
            return 0;
          })
          .finally(() => (this.running = undefined));
      }
    }, this.options.intervalMs);
    this.timer.unref();
  }

  /** Deletes every expired saga, batch by batch. Returns how many. */
  async sweep(): Promise<number> {
    const before = (this.options.now ?? Date.now)() - this.options.retentionMs;
    let total = 0;
    for (;;) {
      const n = await this.options.store.deleteFinishedBefore(before, this.options.batch);
      total += n;
      if (n < this.options.batch) break;
    }
    if (total > 0) this.options.logger.info({ deleted: total }, 'deleted finished sagas past retention');
    return total;
  }

  async close(): Promise<void> {
    if (this.timer !== undefined) clearInterval(this.timer);
    await this.running;
  }
}
