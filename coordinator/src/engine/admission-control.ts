// Load shedding for new sagas, CoDel-style. The signal is the durable log's
// queueing delay: for each group-committed batch, how long its oldest unit
// waited from commit() until the write resolved (queue + write + event-loop
// lag). A burst drains by itself; a *standing* queue — the delay above target
// for a whole interval, i.e. even the best batch of the interval waited too
// long — means work arrives faster than it can be made durable, and accepting
// more only grows memory and everyone's latency. Then creating a saga is
// refused (RESOURCE_EXHAUSTED, retryable) until a batch commits within target
// again. Only the creation of sagas calls check(): accepted work is never shed.
// O(1) per batch and per check; no timers: time is read when asked.

import { DomainError } from '../domain/errors.js';
import type { Clock } from './clock.js';

export interface AdmissionOptions {
  /** false = never shed. Default true. */
  readonly enabled?: boolean;
  /**
   * Queueing delay of the log the coordinator may keep standing, ms. Default 50:
   * well above a healthy batch's delay under continuous load (up to two writes,
   * each an fsync of ~0.1–20 ms from NVMe to spinning disk, plus a GC scavenge),
   * well below what a client notices per step.
   */
  readonly targetDelayMs?: number;
  /**
   * How long the delay must stay above target before shedding, ms. Default 100:
   * many batches long at normal speed, so one slow fsync or GC pause is
   * ignored, yet short enough that little backlog builds before shedding.
   */
  readonly intervalMs?: number;
  /** Monotonic milliseconds. Default performance.now(). */
  readonly clock?: Clock;
  /**
   * Age in ms of the oldest unit waiting to be committed (0 = none). Read only
   * when no batch committed for an interval, so a stalled log does not look idle.
   */
  readonly oldestWaitingMs?: () => number;
  /** Called for each refused saga (a metric); must not throw. */
  readonly onShed?: () => void;
}

export interface AdmissionStats {
  readonly enabled: boolean;
  /** Whether new sagas are refused now. */
  readonly shedding: boolean;
  /** Sagas refused since start. */
  readonly shed: number;
  /** Oldest-unit wait of the last committed batch, ms (undefined before the first). */
  readonly lastDelayMs: number | undefined;
  /** How long the delay has stayed above target, ms (0 when it is not above). */
  readonly aboveTargetMs: number;
}

export const DEFAULT_ADMISSION = { enabled: true, targetDelayMs: 50, intervalMs: 100 } as const;

const monotonicClock: Clock = { now: () => performance.now() };

export class AdmissionControl {
  readonly enabled: boolean;
  readonly targetDelayMs: number;
  readonly intervalMs: number;
  private readonly clock: Clock;
  /** Since when the delay has been above target; undefined when it is not. */
  private aboveSince: number | undefined;
  /** Last time the delay was seen within target (a batch, or an idle or short queue). */
  private lastBelowAt = -Infinity;
  private lastSampleAt = -Infinity;
  private lastDelayMs: number | undefined;
  private shed = 0;

  constructor(private readonly options: AdmissionOptions = {}) {
    this.enabled = options.enabled ?? DEFAULT_ADMISSION.enabled;
    this.targetDelayMs = options.targetDelayMs ?? DEFAULT_ADMISSION.targetDelayMs;
    this.intervalMs = options.intervalMs ?? DEFAULT_ADMISSION.intervalMs;
    this.clock = options.clock ?? monotonicClock;
    if (typeof this.enabled !== 'boolean') throw new Error('AdmissionControl: enabled must be true or false');
    for (const [name, v] of [['targetDelayMs', this.targetDelayMs], ['intervalMs', this.intervalMs]] as const) {
      if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw new Error(`AdmissionControl: ${name} must be a number > 0, not ${String(v)}`);
    }
  }

  /** One committed batch: how long its oldest unit waited, ms. */
  observeCommitDelay(ms: number): void {
    if (!this.enabled || !Number.isFinite(ms)) return;
    const now = this.clock.now();
    if (ms > this.targetDelayMs) this.markAbove(now, ms);
    else this.markBelow(now);
    this.lastSampleAt = now;
    this.lastDelayMs = ms;
  }

  /** Throws RESOURCE_EXHAUSTED (retryable) while shedding. Call only when creating a saga. */
  check(): void {
    if (!this.enabled) return;
    const now = this.clock.now();
    if (!this.evaluate(now)) return;
    this.shed += 1;
    this.options.onShed?.();
    const forMs = Math.round(now - (this.aboveSince ?? now));
    throw new DomainError(
      'RESOURCE_EXHAUSTED',
      `the coordinator is overloaded: writes to its log have waited over ${this.targetDelayMs} ms for ${forMs} ms; ` +
        'no new sagas are accepted for now (sagas already accepted continue); retry later',
      true,
    );
  }

  stats(): AdmissionStats {
    const now = this.clock.now();
    const shedding = this.enabled && this.evaluate(now);
    return {
      enabled: this.enabled,
      shedding,
      shed: this.shed,
      lastDelayMs: this.lastDelayMs,
      aboveTargetMs: this.enabled && this.aboveSince !== undefined ? Math.max(0, now - this.aboveSince) : 0,
    };
  }

  private evaluate(now: number): boolean {
    if (now - this.lastSampleAt >= this.intervalMs) {
      // No batch committed for an interval: idle, or the log is stalled.
      const waiting = this.options.oldestWaitingMs?.() ?? 0;
      if (waiting > this.targetDelayMs) this.markAbove(now, waiting);
      else this.markBelow(now);
    }
    return this.aboveSince !== undefined && now - this.aboveSince >= this.intervalMs;
  }

  /** The oldest unit, `ageMs` old at `now`, has been above target since it crossed it. */
  private markAbove(now: number, ageMs: number): void {
    const crossed = now - ageMs + this.targetDelayMs;
    // Crossed after the last batch committed: the head of the queue was within
    // target in between, so the standing period starts over.
    if (this.aboveSince === undefined || crossed > this.lastSampleAt) this.aboveSince = Math.max(this.lastBelowAt, crossed);
  }

  private markBelow(now: number): void {
    this.aboveSince = undefined;
    this.lastBelowAt = now;
  }
}
