// Admission control driven by an injected clock: no timers, no sleeps.

import { describe, expect, it } from 'vitest';
import { DomainError } from '../domain/errors.js';
import { AdmissionControl, type AdmissionOptions } from './admission-control.js';

class FakeClock {
  t = 1_000;
  now(): number {
    return this.t;
  }
}

function setup(options: Omit<AdmissionOptions, 'clock'> = {}): { ac: AdmissionControl; clock: FakeClock; waiting: { ms: number }; shed: { n: number } } {
  const clock = new FakeClock();
  const waiting = { ms: 0 };
  const shed = { n: 0 };
  const ac = new AdmissionControl({
    targetDelayMs: 50,
    intervalMs: 100,
    oldestWaitingMs: () => waiting.ms,
    onShed: () => {
      shed.n += 1;
    },
    ...options,
    clock,
  });
  return { ac, clock, waiting, shed };
}

/** One committed batch every `everyMs` from now until `untilMs` later, each with `delayMs`. */
function batches(ac: AdmissionControl, clock: FakeClock, delayMs: number, everyMs: number, forMs: number): void {
  const end = clock.t + forMs;
  while (clock.t < end) {
    clock.t += everyMs;
    ac.observeCommitDelay(delayMs);
  }
}

function refusal(ac: AdmissionControl): DomainError | undefined {
  try {
    ac.check();
    return undefined;
  } catch (err) {
    if (err instanceof DomainError) return err;
    throw err;
  }
}

describe('AdmissionControl', () => {
  it('admits at start, and while batches commit within target', () => {
    const { ac, clock } = setup();
    expect(refusal(ac)).toBeUndefined();
    batches(ac, clock, 49, 5, 1_000);
    expect(refusal(ac)).toBeUndefined();
    batches(ac, clock, 50, 5, 1_000); // at target is not above it
    expect(refusal(ac)).toBeUndefined();
    expect(ac.stats()).toMatchObject({ enabled: true, shedding: false, shed: 0, lastDelayMs: 50, aboveTargetMs: 0 });
  });

  it('sheds once the delay has stood above target for a whole interval, with a retryable RESOURCE_EXHAUSTED', () => {
    const { ac, clock, shed } = setup();
    batches(ac, clock, 10, 5, 200);
    // From the last batch within target on, every batch waits 60 ms.
    batches(ac, clock, 60, 5, 95);
    expect(refusal(ac)).toBeUndefined();
    expect(ac.stats()).toMatchObject({ shedding: false, aboveTargetMs: 95, lastDelayMs: 60 });
    batches(ac, clock, 60, 5, 5);
    const err = refusal(ac);
    expect(err?.kind).toBe('RESOURCE_EXHAUSTED');
    expect(err?.retryable).toBe(true);
    expect(err?.message).toMatch(/overloaded.*retry later/);
    expect(shed.n).toBe(1);
    expect(refusal(ac)?.kind).toBe('RESOURCE_EXHAUSTED');
    expect(ac.stats()).toMatchObject({ shedding: true, shed: 2 });
  });

  it('does not shed for a burst shorter than an interval, however high', () => {
    const { ac, clock } = setup();
    batches(ac, clock, 10, 5, 200);
    for (let round = 0; round < 5; round++) {
      // 90 ms of batches that waited 120 ms…
      batches(ac, clock, 120, 5, 90);
      expect(refusal(ac)).toBeUndefined();
      // …then one batch within target resets the standing period.
      batches(ac, clock, 20, 5, 5);
      expect(refusal(ac)).toBeUndefined();
      batches(ac, clock, 10, 5, 100);
    }
    expect(ac.stats().shed).toBe(0);
  });

  it('counts a batch that waited longer than target + interval as a whole interval above target', () => {
    const { ac, clock } = setup();
    batches(ac, clock, 10, 5, 200);
    clock.t += 150;
    ac.observeCommitDelay(149); // queued just after the last batch: above target for 99 ms
    expect(refusal(ac)).toBeUndefined();
    const { ac: ac2, clock: clock2 } = setup();
    batches(ac2, clock2, 10, 5, 200);
    clock2.t += 150;
    ac2.observeCommitDelay(150);
    expect(refusal(ac2)?.kind).toBe('RESOURCE_EXHAUSTED');
  });

  it('recovers as soon as a batch commits within target again', () => {
    const { ac, clock } = setup();
    batches(ac, clock, 200, 10, 300);
    expect(refusal(ac)?.kind).toBe('RESOURCE_EXHAUSTED');
    clock.t += 10;
    ac.observeCommitDelay(49);
    expect(refusal(ac)).toBeUndefined();
    expect(ac.stats()).toMatchObject({ shedding: false, aboveTargetMs: 0 });
    // Above again: a new standing period has to last a whole interval.
    batches(ac, clock, 60, 10, 50);
    expect(refusal(ac)).toBeUndefined();
    batches(ac, clock, 60, 10, 60);
    expect(refusal(ac)?.kind).toBe('RESOURCE_EXHAUSTED');
  });

  it('stops shedding when the queue empties and no batch commits for an interval', () => {
    const { ac, clock, waiting } = setup();
    batches(ac, clock, 200, 10, 300);
    expect(refusal(ac)?.kind).toBe('RESOURCE_EXHAUSTED');
    clock.t += 99; // the last interval still held only slow batches
    expect(refusal(ac)?.kind).toBe('RESOURCE_EXHAUSTED');
    waiting.ms = 0;
    clock.t += 1;
    expect(refusal(ac)).toBeUndefined();
    expect(ac.stats().shedding).toBe(false);
  });

  it('sheds when the log stalls: no batch commits but the oldest waiting unit is older than target for an interval', () => {
    const { ac, clock, waiting } = setup();
    batches(ac, clock, 10, 5, 200);
    // The disk stalls right after the last batch; one unit has been waiting since then.
    const stalledAt = clock.t;
    clock.t = stalledAt + 100;
    waiting.ms = 100;
    // It crossed the target at stalledAt + 50: above for 50 ms only.
    expect(refusal(ac)).toBeUndefined();
    clock.t = stalledAt + 149;
    waiting.ms = 149;
    expect(refusal(ac)).toBeUndefined();
    clock.t = stalledAt + 150;
    waiting.ms = 150;
    expect(refusal(ac)?.kind).toBe('RESOURCE_EXHAUSTED');
    // The write completes: the next batch within target ends it.
    clock.t += 1;
    ac.observeCommitDelay(151);
    expect(refusal(ac)?.kind).toBe('RESOURCE_EXHAUSTED');
    clock.t += 5;
    ac.observeCommitDelay(5);
    waiting.ms = 0;
    expect(refusal(ac)).toBeUndefined();
  });

  it('does not read the waiting unit while batches commit, and a unit queued after the last batch starts a new period', () => {
    const { ac, clock, waiting } = setup();
    batches(ac, clock, 200, 10, 300);
    expect(refusal(ac)?.kind).toBe('RESOURCE_EXHAUSTED');
    waiting.ms = 0; // ignored: a batch committed within the interval
    clock.t += 50;
    expect(refusal(ac)?.kind).toBe('RESOURCE_EXHAUSTED');
    // Idle for a while, then one unit queued 10 ms after the last batch is stuck.
    const lastBatch = clock.t - 50;
    clock.t = lastBatch + 120;
    waiting.ms = 110;
    // Queued at lastBatch + 10, above target since lastBatch + 60: not a whole interval yet.
    expect(refusal(ac)).toBeUndefined();
    clock.t = lastBatch + 160;
    waiting.ms = 150;
    expect(refusal(ac)?.kind).toBe('RESOURCE_EXHAUSTED');
  });

  it('never sheds when disabled', () => {
    const { ac, clock, waiting, shed } = setup({ enabled: false });
    batches(ac, clock, 10_000, 10, 5_000);
    waiting.ms = 10_000;
    clock.t += 1_000;
    expect(refusal(ac)).toBeUndefined();
    expect(ac.stats()).toMatchObject({ enabled: false, shedding: false, shed: 0 });
    expect(shed.n).toBe(0);
  });

  it('has the documented defaults', () => {
    const ac = new AdmissionControl();
    expect([ac.enabled, ac.targetDelayMs, ac.intervalMs, ac.targetSagaLatencyMs, ac.minInMotion]).toEqual([true, 100, 500, 1_000, 256]);
  });

  it('refuses bad options at construction, naming the option', () => {
    expect(() => new AdmissionControl({ targetDelayMs: 0 })).toThrow(/targetDelayMs/);
    expect(() => new AdmissionControl({ targetDelayMs: -5 })).toThrow(/targetDelayMs/);
    expect(() => new AdmissionControl({ targetDelayMs: Number.NaN })).toThrow(/targetDelayMs/);
    expect(() => new AdmissionControl({ intervalMs: 0 })).toThrow(/intervalMs/);
    expect(() => new AdmissionControl({ intervalMs: Number.POSITIVE_INFINITY })).toThrow(/intervalMs/);
    expect(() => new AdmissionControl({ enabled: 'yes' as unknown as boolean })).toThrow(/enabled/);
  });
});

describe('AdmissionControl, the in-motion rule (a CPU-saturated event loop)', () => {
  function saturation(loop: { busy: number }, motion: { n: number; settled: number }, targetSagaLatencyMs = 1_000) {
    const clock = new FakeClock();
    const ac = new AdmissionControl({
      clock,
      intervalMs: 100,
      targetSagaLatencyMs,
      minInMotion: 10,
      loopUtilization: () => loop.busy,
      inMotion: () => motion.n,
      settled: () => motion.settled,
    });
    /** Advances one interval during which `settledPerInterval` sagas finished; then asks. */
    const tick = (settledPerInterval: number): DomainError | undefined => {
      clock.t += 100;
      motion.settled += settledPerInterval;
      ac.observeCommitDelay(1); // the log itself is fine
      return refusal(ac);
    };
    return { ac, tick };
  }

  it('refuses while the loop is saturated and the sagas in motion exceed what drains within the target', () => {
    const loop = { busy: 1 };
    const motion = { n: 0, settled: 0 };
    const { ac, tick } = saturation(loop, motion);
    expect(tick(0)).toBeUndefined(); // first sample
    // 100 settle per 100 ms = 1,000/s: 1 s of latency = 1,000 in motion.
    motion.n = 900;
    expect(tick(100)).toBeUndefined();
    expect(tick(100)).toBeUndefined();
    motion.n = 1_500;
    const err = tick(100);
    expect(err).toMatchObject({ kind: 'RESOURCE_EXHAUSTED', retryable: true });
    expect(err?.message).toMatch(/event loop is saturated and the 1500 sagas in motion need over 1000 ms/);
    expect(ac.stats().shedding).toBe(true);
    // The same backlog with an idle loop (e.g. slow participants): nothing to gain by refusing.
    loop.busy = 0.5;
    expect(tick(100)).toBeUndefined();
  });

  it('never refuses below minInMotion', () => {
    const loop = { busy: 1 };
    const motion = { n: 10, settled: 0 };
    const { tick } = saturation(loop, motion);
    for (let i = 0; i < 5; i++) expect(tick(1)).toBeUndefined();
    motion.n = 11;
    expect(tick(1)).toMatchObject({ kind: 'RESOURCE_EXHAUSTED' });
  });

  it('does not refuse while nothing settles: the sagas wait on participants, and refusals must not feed themselves', () => {
    const loop = { busy: 1 };
    const motion = { n: 100_000, settled: 0 };
    const { tick } = saturation(loop, motion);
    for (let i = 0; i < 5; i++) expect(tick(0)).toBeUndefined();
    // Work settles again while the loop is saturated: the rule applies.
    expect(tick(5)).toMatchObject({ kind: 'RESOURCE_EXHAUSTED' });
    expect(tick(0)).toBeUndefined();
  });

  it('is off without its inputs, and refuses bad settings', () => {
    const { ac, clock } = setup();
    for (let i = 0; i < 5; i++) {
      clock.t += 100;
      ac.observeCommitDelay(1);
      expect(refusal(ac)).toBeUndefined();
    }
    expect(() => new AdmissionControl({ minInMotion: 0 })).toThrow(/minInMotion/);
    expect(() => new AdmissionControl({ targetSagaLatencyMs: -1 })).toThrow(/targetSagaLatencyMs/);
  });
});
