// Group commit: units of work queued while a transaction is being written are
// committed together in the next one, so N concurrent sagas share one fsync.
// Order is preserved: units commit in the order they were queued.

export interface GroupCommitOptions<U> {
  /** Writes all units in one transaction; rejects if it rolled back. */
  readonly write: (units: readonly U[]) => Promise<void>;
  /** Upper bound of units per transaction (bounds statement sizes and latency). */
  readonly maxBatch: number;
  /**
   * Called after each committed batch with how long its oldest unit waited, from
   * commit() until the write resolved (queue + write + event-loop lag), and the
   * batch's size. The load signal of admission control; must be cheap.
   */
  readonly onBatch?: (oldestWaitMs: number, units: number) => void;
  /** Monotonic milliseconds. Default performance.now(). */
  readonly now?: () => number;
}

interface Pending<U> {
  readonly unit: U;
  readonly queuedAt: number;
  readonly resolve: () => void;
  readonly reject: (err: unknown) => void;
}

export class GroupCommitter<U> {
  private queue: Pending<U>[] = [];
  private flushing: Promise<void> | undefined;
  /** When the oldest unit of the batch being written was queued. */
  private writingSince: number | undefined;
  private batches = 0;
  private units = 0;
  private readonly now: () => number;

  constructor(private readonly options: GroupCommitOptions<U>) {
    this.now = options.now ?? (() => performance.now());
  }

  commit(unit: U): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queue.push({ unit, queuedAt: this.now(), resolve, reject });
      if (this.flushing === undefined) this.flushing = this.drain();
    });
  }

  /** Resolves when everything queued so far is written. */
  async idle(): Promise<void> {
    while (this.flushing !== undefined) await this.flushing;
  }

  stats(): { batches: number; units: number } {
    return { batches: this.batches, units: this.units };
  }

  /**
   * Age in ms of the oldest unit not yet committed (being written or queued), 0
   * when none: shows a stalled write, which no onBatch call would report.
   */
  oldestWaitingMs(): number {
    const since = this.writingSince ?? this.queue[0]?.queuedAt;
    return since === undefined ? 0 : Math.max(0, this.now() - since);
  }

  private async drain(): Promise<void> {
    // Let the current tick's units join the first batch.
    await new Promise<void>((r) => setImmediate(r));
    while (this.queue.length > 0) {
      const batch = this.queue.length <= this.options.maxBatch ? this.queue : this.queue.slice(0, this.options.maxBatch);
      this.queue = this.queue.length <= this.options.maxBatch ? [] : this.queue.slice(this.options.maxBatch);
      // FIFO: the first unit of a batch is its oldest.
      const oldest = batch[0]?.queuedAt ?? this.now();
      this.writingSince = oldest;
      try {
        await this.options.write(batch.map((p) => p.unit));
        const waited = Math.max(0, this.now() - oldest);
        this.writingSince = undefined;
        this.batches += 1;
        this.units += batch.length;
        for (const p of batch) p.resolve();
        // After the resolves: an observer that throws cannot fail a durable batch.
        this.options.onBatch?.(waited, batch.length);
      } catch (err) {
        this.writingSince = undefined;
        for (const p of batch) p.reject(err);
      }
    }
    this.flushing = undefined;
  }
}
