// Finished compensations over a sliding time window, for the success-rate
// rule: successes (COMPENSATED) and failures (MANUAL) counted in time buckets,
// so memory stays constant whatever the rate. The window is in memory: it
// starts empty after a restart.

const BUCKETS = 60;

export class CompensationWindow {
  private readonly bucketMs: number;
  /** Bucket index -> counts. */
  private readonly buckets = new Map<number, { ok: number; failed: number }>();

  constructor(private readonly windowMs: number) {
    if (!Number.isInteger(windowMs) || windowMs < 1) throw new Error('CompensationWindow: windowMs must be a positive integer');
    this.bucketMs = Math.max(1, Math.ceil(windowMs / BUCKETS));
  }

  record(at: number, succeeded: boolean): void {
    const index = Math.floor(at / this.bucketMs);
    let b = this.buckets.get(index);
    if (b === undefined) {
      b = { ok: 0, failed: 0 };
      this.buckets.set(index, b);
    }
    if (succeeded) b.ok += 1;
    else b.failed += 1;
  }

  /** Counts over (now - windowMs, now], to the bucket. */
  counts(now: number): { succeeded: number; failed: number } {
    const oldest = Math.floor((now - this.windowMs) / this.bucketMs) + 1;
    let succeeded = 0;
    let failed = 0;
    for (const [index, b] of this.buckets) {
      if (index < oldest) {
        this.buckets.delete(index);
        continue;
      }
      succeeded += b.ok;
      failed += b.failed;
    }
    return { succeeded, failed };
  }
}
