// Group commit: units of work queued while a transaction is being written are
// committed together in the next one, so N concurrent sagas share one fsync.
// Order is preserved: units commit in the order they were queued.
//
// Release in slices: when a batch commits, the units it releases resume their
// sagas (decide, send the next call) as synchronous work. A big batch released
// at once keeps the event loop from reading sockets for that whole burst, so
// answers and new StartSagas queue behind it: the tail. The first
// `releaseSlice` units are released at once, the rest one slice per event-loop
// turn (setImmediate), FIFO across batches; the next batch's write is already
// under way meanwhile.
//
// Commit delay (PostgreSQL's commit_delay): a transaction's cost is mostly
// per transaction (the sync, the hand-offs to and from the writer, the wake-ups),
// so a half-loaded log that commits every few units spends far more CPU per
// unit than a saturated one. While units arrive fast enough that a short wait
// is expected to add `minExpectedUnits` more, a batch smaller than
// `enoughUnits` waits up to `commitDelayMs` for them; it is taken at once when
// it reaches `enoughUnits`. After a lull the estimate is slow, so an idle or
// lightly loaded log never waits.
//
// Fail-stop: the first batch that fails for a reason that is not one unit's
// own (disk full, I/O error) latches the committer failed. Nothing later is
// written, every unit queued or committed afterwards is refused with
// StoreFailedError, and `onFailed` is told once (the process exits, and
// recovery restarts from what is durable). A batch that failed on a unit's own
// constraint (two StartSagas racing on one new id) is written again with each
// unit isolated: that unit gets its own error, the others commit.

import { DomainError } from '../domain/errors.js';

export interface GroupCommitOptions<U> {
  /**
   * Writes all units in one transaction; rejects if it rolled back. May
   * resolve with each unit's own error (undefined = written): a unit the
   * backend refused before writing the others (a fenced saga), not a failure
   * of the batch.
   */
  readonly write: (units: readonly U[]) => Promise<void | readonly (Error | undefined)[]>;
  /**
   * Writes the units in one transaction, each isolated (a savepoint per unit):
   * resolves with each unit's own error (undefined = written); rejects if the
   * transaction as a whole failed. Called after `write` failed with a unit error.
   */
  readonly writeIsolated?: (units: readonly U[]) => Promise<(Error | undefined)[]>;
  /** Whether an error of `write` may be one unit's own (a constraint), worth isolating. */
  readonly isUnitError?: (err: unknown) => boolean;
  /** The answer to a lone unit that failed with a unit error (default: the error itself). */
  readonly unitError?: (err: Error) => Error;
  /** Upper bound of units per transaction (bounds statement sizes and latency). */
  readonly maxBatch: number;
  /** Upper bound of a batch's bytes (`sizeOf`); a single larger unit is written alone. */
  readonly maxBatchBytes?: number;
  readonly sizeOf?: (unit: U) => number;
  /**
   * Called after each committed batch with how long its oldest unit waited, from
   * commit() until the write resolved (queue + write + event-loop lag), the
   * batch's size, and how many units were left queued when the batch was taken
   * (> 0: it was full, the queue is longer than a batch), and how long the
   * write itself took (the transaction, without the queueing before it). The
   * load signal of admission control; must be cheap.
   */
  readonly onBatch?: (oldestWaitMs: number, units: number, leftBehind: number, writeMs: number) => void;
  /** Called per unit as it is released (resolved), with its wait from commit() in ms (a histogram); must be cheap. */
  readonly onReleased?: (waitMs: number) => void;
  /** Units released at once when a batch commits; the rest follow one slice per event-loop turn. Default 32. */
  readonly releaseSlice?: number;
  /** Called once, with the write's error, when the committer latches failed. */
  readonly onFailed?: (err: Error) => void;
  /** The commit delay (see above); absent or `ms` 0 = every batch is taken as soon as the writer is free. */
  readonly commitDelay?: CommitDelay;
  /** Monotonic milliseconds. Default performance.now(). */
  readonly now?: () => number;
  /** Runs `fn` once after `ms`; returns its cancel. Default node:timers setTimeout (tests inject their own). */
  readonly setTimer?: (fn: () => void, ms: number) => () => void;
}

export interface CommitDelay {
  /** Longest wait for more units before a batch is taken, ms; 0 = off. */
  readonly ms: number;
  /** Wait only when the arrival rate predicts at least this many more units within `ms`. Default 2. */
  readonly minExpectedUnits?: number;
  /** A batch of this many units is taken without waiting (and a wait ends when the queue reaches it). Default min(64, maxBatch). */
  readonly enoughUnits?: number;
}

/** Weight of the newest gap between two commit() calls in their moving average. */
const GAP_WEIGHT = 1 / 32;
/** A gap counts for at most this much, ms, so that one long lull does not outweigh the next second of traffic. */
const MAX_GAP_MS = 1_000;

const defaultTimer = (fn: () => void, ms: number): (() => void) => {
  const t = setTimeout(fn, ms);
  return () => clearTimeout(t);
};

/** The log failed earlier: nothing is written any more. UNAVAILABLE to clients; `cause` is the write's error. */
export class StoreFailedError extends DomainError {
  constructor(override readonly cause: Error) {
    super('UNAVAILABLE', 'the coordinator lost its durable log and is stopping; retry against another instance or later');
    this.name = 'StoreFailedError';
  }
}

interface Pending<U> {
  readonly unit: U;
  readonly bytes: number;
  readonly queuedAt: number;
  readonly resolve: () => void;
  readonly reject: (err: unknown) => void;
}

/** A committed batch whose units are being released, from `next` on. */
interface Release<U> {
  readonly batch: readonly Pending<U>[];
  readonly errors: readonly (Error | undefined)[] | undefined;
  next: number;
}

export class GroupCommitter<U> {
  private queue: Pending<U>[] = [];
  private releases: Release<U>[] = [];
  /** Set while released units remain: resolves when the last one is released. */
  private releasing: { done: Promise<void>; resolve: () => void } | undefined;
  private readonly releaseSlice: number;
  private head = 0;
  private flushing: Promise<void> | undefined;
  /** When the oldest unit of the batch being written was queued. */
  private writingSince: number | undefined;
  private batches = 0;
  private units = 0;
  private failure: StoreFailedError | undefined;
  private readonly now: () => number;
  private readonly maxBytes: number;
  private readonly setTimer: (fn: () => void, ms: number) => () => void;
  private readonly delayMs: number;
  private readonly minExpectedUnits: number;
  private readonly enoughUnits: number;
  /** Moving average of the gap between commit() calls, ms (starts as after a lull). */
  private meanGapMs = MAX_GAP_MS;
  private lastCommitAt: number | undefined;
  /** Set while a batch waits for more units: ends the wait early. */
  private wake: (() => void) | undefined;
  private delayed = 0;

  constructor(private readonly options: GroupCommitOptions<U>) {
    this.now = options.now ?? (() => performance.now());
    this.maxBytes = options.maxBatchBytes ?? Number.POSITIVE_INFINITY;
    if (!(this.maxBytes > 0)) throw new Error('GroupCommitter: maxBatchBytes must be positive');
    this.releaseSlice = options.releaseSlice ?? 32;
    if (!Number.isInteger(this.releaseSlice) || this.releaseSlice < 1) throw new Error('GroupCommitter: releaseSlice must be a positive integer');
    this.setTimer = options.setTimer ?? defaultTimer;
    const delay = options.commitDelay;
    this.delayMs = delay?.ms ?? 0;
    if (!(Number.isFinite(this.delayMs) && this.delayMs >= 0)) throw new Error('GroupCommitter: commitDelay.ms must be a non-negative number');
    this.minExpectedUnits = delay?.minExpectedUnits ?? 2;
    if (!(this.minExpectedUnits > 0)) throw new Error('GroupCommitter: commitDelay.minExpectedUnits must be positive');
    this.enoughUnits = delay?.enoughUnits ?? Math.min(64, options.maxBatch);
    if (!Number.isInteger(this.enoughUnits) || this.enoughUnits < 1) throw new Error('GroupCommitter: commitDelay.enoughUnits must be a positive integer');
  }

  commit(unit: U): Promise<void> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    const bytes = this.options.sizeOf?.(unit) ?? 0;
    const queuedAt = this.now();
    if (this.lastCommitAt !== undefined) this.meanGapMs += (Math.min(Math.max(0, queuedAt - this.lastCommitAt), MAX_GAP_MS) - this.meanGapMs) * GAP_WEIGHT;
    this.lastCommitAt = queuedAt;
    return new Promise((resolve, reject) => {
      this.queue.push({ unit, bytes, queuedAt, resolve, reject });
      if (this.flushing === undefined) this.flushing = this.drain();
      else if (this.wake !== undefined && this.queue.length - this.head >= this.enoughUnits) this.wake();
    });
  }

  /** Resolves when everything queued so far is written and released (or refused after a failure). */
  async idle(): Promise<void> {
    while (this.flushing !== undefined || this.releasing !== undefined) {
      if (this.flushing !== undefined) await this.flushing;
      else await this.releasing?.done;
    }
  }

  /** The failure the committer latched on, if any. */
  failed(): StoreFailedError | undefined {
    return this.failure;
  }

  /** Batches and units committed, and how many batches waited for more units (the commit delay). */
  stats(): { batches: number; units: number; delayed: number } {
    return { batches: this.batches, units: this.units, delayed: this.delayed };
  }

  /**
   * Age in ms of the oldest unit not yet committed (being written or queued), 0
   * when none: shows a stalled write, which no onBatch call would report.
   */
  oldestWaitingMs(): number {
    const since = this.writingSince ?? this.queue[this.head]?.queuedAt;
    return since === undefined ? 0 : Math.max(0, this.now() - since);
  }

  private async drain(): Promise<void> {
    // Let the current tick's units join the first batch.
    await new Promise<void>((r) => setImmediate(r));
    while (this.head < this.queue.length && this.failure === undefined) {
      if (this.worthWaiting()) await this.waitForMore();
      const batch = this.takeBatch();
      const leftBehind = this.queue.length - this.head;
      // FIFO: the first unit of a batch is its oldest.
      const oldest = batch[0]?.queuedAt ?? this.now();
      this.writingSince = oldest;
      let errors: readonly (Error | undefined)[] | undefined;
      const writeStart = this.now();
      try {
        errors = await this.writeBatch(batch);
      } catch (err) {
        this.writingSince = undefined;
        this.latch(err instanceof Error ? err : new Error(String(err)));
        for (const p of batch) p.reject(this.failure);
        break;
      }
      const written = this.now();
      const waited = Math.max(0, written - oldest);
      this.writingSince = undefined;
      this.batches += 1;
      this.units += batch.length;
      this.release(batch, errors);
      // After the first slice, and outside the write's error path: an observer that throws cannot fail a durable batch.
      try {
        this.options.onBatch?.(waited, batch.length, leftBehind, Math.max(0, written - writeStart));
      } catch {
        // The observer's bug, not the log's.
      }
    }
    if (this.failure !== undefined) {
      for (let i = this.head; i < this.queue.length; i++) this.queue[i]?.reject(this.failure);
    }
    this.queue = [];
    this.head = 0;
    this.flushing = undefined;
  }

  /** The commit delay's rule: a small batch, and units arriving fast enough to expect more within the delay. */
  private worthWaiting(): boolean {
    return this.delayMs > 0 && this.queue.length - this.head < this.enoughUnits && this.delayMs >= this.minExpectedUnits * this.meanGapMs;
  }

  /** Resolves after the delay, or as soon as the queue holds enoughUnits. */
  private waitForMore(): Promise<void> {
    this.delayed += 1;
    return new Promise((resolve) => {
      const end = (): void => {
        this.wake = undefined;
        resolve();
      };
      const cancel = this.setTimer(end, this.delayMs);
      this.wake = () => {
        cancel();
        end();
      };
    });
  }

  /** Queues a committed batch for release; releases the first slice now. */
  private release(batch: readonly Pending<U>[], errors: readonly (Error | undefined)[] | undefined): void {
    this.releases.push({ batch, errors, next: 0 });
    if (this.releasing !== undefined) return; // a slice is already scheduled: FIFO behind it
    let resolve = (): void => undefined;
    const done = new Promise<void>((r) => (resolve = r));
    this.releasing = { done, resolve };
    this.releaseNextSlice();
  }

  /** Settles up to releaseSlice units, oldest first; schedules the next slice while any remain. */
  private readonly releaseNextSlice = (): void => {
    let budget = this.releaseSlice;
    const onReleased = this.options.onReleased;
    const now = onReleased === undefined ? 0 : this.now();
    while (budget > 0 && this.releases.length > 0) {
      const r = this.releases[0] as Release<U>;
      while (budget > 0 && r.next < r.batch.length) {
        const p = r.batch[r.next] as Pending<U>;
        const err = r.errors?.[r.next];
        r.next += 1;
        budget -= 1;
        if (err === undefined) p.resolve();
        else p.reject(err);
        if (onReleased !== undefined) {
          try {
            onReleased(Math.max(0, now - p.queuedAt));
          } catch {
            // The observer's bug, not the log's.
          }
        }
      }
      if (r.next >= r.batch.length) this.releases.shift();
    }
    if (this.releases.length > 0) {
      setImmediate(this.releaseNextSlice);
      return;
    }
    const releasing = this.releasing;
    this.releasing = undefined;
    releasing?.resolve();
  };

  /** The next batch: FIFO, at most maxBatch units and maxBatchBytes (but at least one unit). */
  private takeBatch(): Pending<U>[] {
    const start = this.head;
    let end = start;
    let bytes = 0;
    while (end < this.queue.length && end - start < this.options.maxBatch) {
      const next = this.queue[end] as Pending<U>;
      if (end > start && bytes + next.bytes > this.maxBytes) break;
      bytes += next.bytes;
      end += 1;
    }
    const batch = this.queue.slice(start, end);
    // The consumed prefix is dropped, not kept until the drain ends: under steady
    // load that can be minutes, and each entry holds its unit and its saga's
    // continuation (they would outlive the scavenges and be promoted).
    if (end === this.queue.length) {
      this.queue = [];
      this.head = 0;
    } else {
      this.head = end;
      if (this.head >= 64 && this.head * 2 > this.queue.length) {
        this.queue = this.queue.slice(this.head);
        this.head = 0;
      }
    }
    return batch;
  }

  /** Writes the batch; on a unit's own error, again with every unit isolated. Per-unit errors, or undefined. */
  private async writeBatch(batch: readonly Pending<U>[]): Promise<readonly (Error | undefined)[] | undefined> {
    const units = batch.map((p) => p.unit);
    try {
      return (await this.options.write(units)) ?? undefined;
    } catch (err) {
      const { writeIsolated, isUnitError } = this.options;
      if (writeIsolated === undefined || isUnitError?.(err) !== true) throw err;
      // A single unit's own error is its answer; a batch is written again unit by unit.
      if (units.length === 1) {
        const own = err instanceof Error ? err : new Error(String(err));
        return [this.options.unitError?.(own) ?? own];
      }
      return writeIsolated(units);
    }
  }

  private latch(err: Error): void {
    if (this.failure !== undefined) return;
    this.failure = new StoreFailedError(err);
    this.options.onFailed?.(err);
  }
}
