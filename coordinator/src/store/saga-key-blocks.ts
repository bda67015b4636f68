// Saga keys handed out from blocks reserved durably in the store: a reservation
// commits a counter moved past the block before any key of it is used, so no
// restart and no other writer of the same database hands out a key twice. The
// next block is reserved while half of the current one is left, so StartSaga
// waits for a reservation only when sagas are created faster than one commit.

export interface SagaKeyBlocksOptions {
  /**
   * Durably moves the store's counter on by `count` and resolves with the
   * first key of the reserved block (keys first … first + count - 1).
   */
  readonly reserve: (count: number) => Promise<number>;
  /** Keys per reservation. Default 1000. */
  readonly blockSize?: number;
}

export class SagaKeyBlocks {
  private nextKey = 0;
  private end = 0;
  /** First key of a reserved block not yet in use. */
  private spare: number | undefined;
  private fetching: Promise<void> | undefined;
  private failure: unknown;
  private readonly blockSize: number;

  constructor(private readonly options: SagaKeyBlocksOptions) {
    this.blockSize = options.blockSize ?? 1000;
    if (!Number.isInteger(this.blockSize) || this.blockSize < 1) throw new Error('SagaKeyBlocks: blockSize must be a positive integer');
  }

  async next(): Promise<number> {
    for (;;) {
      if (this.nextKey < this.end) {
        const key = this.nextKey;
        this.nextKey += 1;
        if (this.end - this.nextKey <= this.blockSize / 2) this.prefetch();
        return key;
      }
      if (this.spare !== undefined) {
        this.nextKey = this.spare;
        this.end = this.spare + this.blockSize;
        this.spare = undefined;
        continue;
      }
      // A background reservation that failed is tried again here, awaited.
      if (this.fetching === undefined) this.failure = undefined;
      this.prefetch();
      await this.fetching;
      if (this.spare === undefined && this.failure !== undefined) {
        const err = this.failure;
        throw err instanceof Error ? err : new Error('reserving saga keys failed', { cause: err });
      }
    }
  }

  /** Resolves when no reservation is in flight (call before closing the store). */
  async idle(): Promise<void> {
    while (this.fetching !== undefined) await this.fetching;
  }

  private prefetch(): void {
    if (this.fetching !== undefined || this.spare !== undefined) return;
    this.fetching = this.options
      .reserve(this.blockSize)
      .then(
        (first) => {
          this.spare = first;
        },
        (err: unknown) => {
          this.failure = err;
        },
      )
      .finally(() => {
        this.fetching = undefined;
      });
  }
}
