// Load shedding for new sagas: refuse only when the coordinator has no
// headroom, i.e. one of its two resources is saturated, never because a
// moment was slow.
//
// First, the durable log. Its group commit takes every unit queued (up to a
// batch's bound) into the next write, so under any load it can carry, the
// queue never holds more than one batch: the delay of a unit is at most two
// writes plus event-loop lag, whatever the rate. A slow moment (a GC pause, a
// burst on the event loop, an fsync that took 150 ms) makes a batch wait long
// but leaves nothing behind it; refusing then would not make anything faster.
// The log is behind only when a batch is taken *full* — units stay queued
// for a later one — and waited above target: that, standing for a whole
// interval (every batch of the interval so), means work arrives faster than it
// can be made durable, and accepting more only grows memory and everyone's
// latency. Also a log that commits nothing for an interval while its oldest
// unit waits beyond target is stalled. Then creating a saga is refused
// (RESOURCE_EXHAUSTED, retryable) until a batch is taken with nothing left
// behind or commits within target again. Only the creation of sagas calls
// check(): accepted work is never shed.
//
// Second, the event loop saturated by CPU work (requests then queue in sockets,
// calls and answers wait for the loop, and the log still commits quickly). So:
// while the loop was busy for nearly a whole interval, a new saga is refused if
// the sagas in motion would take longer than targetSagaLatencyMs to drain at
// the rate sagas have been settling (Little's law: in motion / throughput =
// the wait a new saga would see). Not in the first warmupMs after the first
// saga is checked: a cold process (code not yet compiled, connections opening,
// caches empty) settles sagas at a fraction of its rate for a few seconds, and
// that rate says nothing about its capacity; refusing then turns a restart
// under load into a burst of RESOURCE_EXHAUSTED without making anyone faster.
// The log rule holds throughout.
// O(1) per batch and per check; no timers: time is read when asked.

import { resourceExhausted } from '../domain/errors.js';
import type { Clock } from './clock.js';

export interface AdmissionOptions {
  /** false = never shed. Default true. */
  readonly enabled?: boolean;
  /**
   * Queueing delay of the log the coordinator may keep standing, ms, counted
   * only for batches taken full (units left behind). Default 100: above a
   * healthy batch's delay under continuous load (up to two writes, each an
   * fsync of ~0.1–20 ms from NVMe to spinning disk, plus GC pauses).
   */
  readonly targetDelayMs?: number;
  /**
   * How long the delay must stay above target before shedding, ms. Default
   * 500: many batches long, so a slow fsync or a GC pause is ignored; a
   * standing queue is still caught within half a second. Also the period over
   * which the in-motion rule samples the event loop and the settling rate.
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
  /**
   * Event-loop utilisation (0–1) since the previous call; read once per
   * interval. Absent = the in-motion rule is off.
   */
  readonly loopUtilization?: () => number;
  /** Sagas accepted and held in memory (running, not parked). */
  readonly inMotion?: () => number;
  /** Sagas that left motion so far (finished or parked): a monotonic count. */
  readonly settled?: () => number;
  /** How long the sagas in motion may take to drain while the loop is saturated, ms. Default 1,000. */
  readonly targetSagaLatencyMs?: number;
  /** The in-motion rule never refuses with fewer sagas in motion than this. Default 256. */
  readonly minInMotion?: number;
  /**
   * The in-motion rule does not refuse for this long after the first saga is
   * checked, ms (0 = from the start). Default 10,000: a cold coordinator
   * offered half its capacity settles slowly for a few seconds (BENCHMARKS.md,
   * session 11).
   */
  readonly warmupMs?: number;
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

export const DEFAULT_ADMISSION = { enabled: true, targetDelayMs: 100, intervalMs: 500, targetSagaLatencyMs: 1_000, minInMotion: 256, warmupMs: 10_000 } as const;

/** Event-loop utilisation at or above which the loop counts as saturated. */
const SATURATED = 0.9;
/** Weight of the newest interval in the settling-rate average. */
const RATE_WEIGHT = 0.3;

const monotonicClock: Clock = { now: () => performance.now() };

export class AdmissionControl {
  readonly enabled: boolean;
  readonly targetDelayMs: number;
  readonly intervalMs: number;
  readonly targetSagaLatencyMs: number;
  readonly minInMotion: number;
  readonly warmupMs: number;
  private readonly clock: Clock;
  /** When the first saga was checked: the warm-up runs from here. */
  private firstCheckAt: number | undefined;
  /** The in-motion rule's last sample and decision. */
  private loopSampleAt: number | undefined;
  private settledAtSample = 0;
  private settleRate: number | undefined;
  private inMotionLimit = Infinity;
  private saturated = false;
  /** Whether any saga settled in the last sampled interval. */
  private settling = false;
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
    this.targetSagaLatencyMs = options.targetSagaLatencyMs ?? DEFAULT_ADMISSION.targetSagaLatencyMs;
    this.minInMotion = options.minInMotion ?? DEFAULT_ADMISSION.minInMotion;
    this.warmupMs = options.warmupMs ?? DEFAULT_ADMISSION.warmupMs;
    this.clock = options.clock ?? monotonicClock;
    if (typeof this.enabled !== 'boolean') throw new Error('AdmissionControl: enabled must be true or false');
    if (!Number.isInteger(this.minInMotion) || this.minInMotion < 1) throw new Error(`AdmissionControl: minInMotion must be an integer >= 1, not ${String(this.minInMotion)}`);
    if (typeof this.warmupMs !== 'number' || !Number.isFinite(this.warmupMs) || this.warmupMs < 0) {
      throw new Error(`AdmissionControl: warmupMs must be a number >= 0, not ${String(this.warmupMs)}`);
    }
    for (const [name, v] of [
      ['targetDelayMs', this.targetDelayMs],
      ['intervalMs', this.intervalMs],
      ['targetSagaLatencyMs', this.targetSagaLatencyMs],
    ] as const) {
      if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw new Error(`AdmissionControl: ${name} must be a number > 0, not ${String(v)}`);
    }
  }

  /**
   * One committed batch: how long its oldest unit waited, ms, and how many
   * units were left queued when it was taken (> 0: the batch was full).
   */
  observeCommitDelay(ms: number, leftBehind: number): void {
    if (!this.enabled || !Number.isFinite(ms)) return;
    const now = this.clock.now();
    // A long wait with nothing left behind is a slow moment, not a log behind.
    if (ms > this.targetDelayMs && leftBehind > 0) this.markAbove(now, ms);
    else this.markBelow(now);
    this.lastSampleAt = now;
    this.lastDelayMs = ms;
  }

  /** Throws RESOURCE_EXHAUSTED (retryable) while shedding. Call only when creating a saga. */
  check(): void {
    if (!this.enabled) return;
    const now = this.clock.now();
    this.firstCheckAt ??= now;
    const logBehind = this.evaluate(now);
    const inMotion = this.overInMotionLimit(now);
    if (!logBehind && inMotion === undefined) return;
    this.shed += 1;
    this.options.onShed?.();
    const why = logBehind
      ? `writes to its log have queued beyond a full batch, waiting over ${this.targetDelayMs} ms, for ${Math.round(now - (this.aboveSince ?? now))} ms`
      : `its event loop is saturated and the ${inMotion} sagas in motion need over ${this.targetSagaLatencyMs} ms to drain`;
    throw resourceExhausted(`the coordinator is overloaded: ${why}; no new sagas are accepted for now (sagas already accepted continue); retry later`);
  }

  /** The in-motion rule: the number in motion when it refuses, else undefined. Samples once per interval. */
  private overInMotionLimit(now: number): number | undefined {
    const { loopUtilization, inMotion, settled } = this.options;
    if (loopUtilization === undefined || inMotion === undefined || settled === undefined) return undefined;
    if (this.loopSampleAt === undefined || now - this.loopSampleAt >= this.intervalMs) {
      const count = settled();
      if (this.loopSampleAt !== undefined) {
        const rate = (count - this.settledAtSample) / ((now - this.loopSampleAt) / 1000);
        this.settleRate = this.settleRate === undefined ? rate : RATE_WEIGHT * rate + (1 - RATE_WEIGHT) * this.settleRate;
        this.saturated = loopUtilization() >= SATURATED;
        this.settling = count > this.settledAtSample;
      } else {
        loopUtilization(); // starts the first interval
      }
      this.loopSampleAt = now;
      this.settledAtSample = count;
      this.inMotionLimit = Math.max(this.minInMotion, ((this.settleRate ?? 0) * this.targetSagaLatencyMs) / 1000);
    }
    // Nothing settling means the sagas wait on participants, not on this
    // process: refusing would not help them, and a saturated loop is then
    // other work (recovery, or a storm of retried refusals that this rule
    // would otherwise keep alive).
    if (!this.saturated || !this.settling) return undefined;
    // Sampled during the warm-up too, so that the settling rate is known when it ends.
    if (this.firstCheckAt === undefined || now - this.firstCheckAt < this.warmupMs) return undefined;
    const n = inMotion();
    return n > this.inMotionLimit ? n : undefined;
  }

  stats(): AdmissionStats {
    const now = this.clock.now();
    const shedding = this.enabled && (this.evaluate(now) || this.overInMotionLimit(now) !== undefined);
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
