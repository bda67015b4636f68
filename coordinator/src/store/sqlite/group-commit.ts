// Group commit: units of work queued while a transaction is being written are
// committed together in the next one, so N concurrent sagas share one fsync.
// Order is preserved: units commit in the order they were queued.

export interface GroupCommitOptions<U> {
  /** Writes all units in one transaction; rejects if it rolled back. */
  readonly write: (units: readonly U[]) => Promise<void>;
  /** Upper bound of units per transaction (bounds statement sizes and latency). */
  readonly maxBatch: number;
}

interface Pending<U> {
  readonly unit: U;
  readonly resolve: () => void;
  readonly reject: (err: unknown) => void;
}

export class GroupCommitter<U> {
  private queue: Pending<U>[] = [];
  private flushing: Promise<void> | undefined;
  private batches = 0;
  private units = 0;

  constructor(private readonly options: GroupCommitOptions<U>) {}

  commit(unit: U): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queue.push({ unit, resolve, reject });
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

  private async drain(): Promise<void> {
    // Let the current tick's units join the first batch.
    await new Promise<void>((r) => setImmediate(r));
    while (this.queue.length > 0) {
      const batch = this.queue.length <= this.options.maxBatch ? this.queue : this.queue.slice(0, this.options.maxBatch);
      this.queue = this.queue.length <= this.options.maxBatch ? [] : this.queue.slice(this.options.maxBatch);
      try {
        await this.options.write(batch.map((p) => p.unit));
        this.batches += 1;
        this.units += batch.length;
        for (const p of batch) p.resolve();
      } catch (err) {
        for (const p of batch) p.reject(err);
      }
    }
    this.flushing = undefined;
  }
}
