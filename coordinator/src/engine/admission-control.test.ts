// Admission control driven by an injected clock: no timers, no sleeps.

import fc from 'fast-check';
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

/**
 * One committed batch every `everyMs` from now until `forMs` later, each with
 * `delayMs`, taken with `leftBehind` units still queued (default 1: full
 * batches, the log behind).
 */
function batches(ac: AdmissionControl, clock: FakeClock, delayMs: number, everyMs: number, forMs: number, leftBehind = 1): void {
  const end = clock.t + forMs;
  while (clock.t < end) {
    clock.t += everyMs;
    ac.observeCommitDelay(delayMs, leftBehind);
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

  it('sheds once full batches have waited above target for a whole interval, with a retryable RESOURCE_EXHAUSTED', () => {
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
    ac.observeCommitDelay(149, 1); // queued just after the last batch: above target for 99 ms
    expect(refusal(ac)).toBeUndefined();
    const { ac: ac2, clock: clock2 } = setup();
    batches(ac2, clock2, 10, 5, 200);
    clock2.t += 150;
    ac2.observeCommitDelay(150, 1);
    expect(refusal(ac2)?.kind).toBe('RESOURCE_EXHAUSTED');
  });

  it('recovers as soon as a batch commits within target again', () => {
    const { ac, clock } = setup();
    batches(ac, clock, 200, 10, 300);
    expect(refusal(ac)?.kind).toBe('RESOURCE_EXHAUSTED');
    clock.t += 10;
    ac.observeCommitDelay(49, 1);
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
    ac.observeCommitDelay(151, 1);
    expect(refusal(ac)?.kind).toBe('RESOURCE_EXHAUSTED');
    clock.t += 5;
    ac.observeCommitDelay(5, 0);
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
      warmupMs: 0,
      loopUtilization: () => loop.busy,
      inMotion: () => motion.n,
      settled: () => motion.settled,
    });
    /** Advances one interval during which `settledPerInterval` sagas finished; then asks. */
    const tick = (settledPerInterval: number): DomainError | undefined => {
      clock.t += 100;
      motion.settled += settledPerInterval;
      ac.observeCommitDelay(1, 0); // the log itself is fine
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

  it('does not refuse during the warm-up after the first check, and does from its end on, with the rate it sampled meanwhile', () => {
    const loop = { busy: 1 };
    const motion = { n: 1_500, settled: 0 };
    const clock = new FakeClock();
    const ac = new AdmissionControl({ clock, intervalMs: 100, minInMotion: 10, warmupMs: 1_000, loopUtilization: () => loop.busy, inMotion: () => motion.n, settled: () => motion.settled });
    // Idle for a while: the warm-up starts with the first saga, not with the process.
    clock.t += 60_000;
    expect(ac.stats().shedding).toBe(false);
    const start = clock.t;
    // 100 settle per 100 ms = 1,000/s: 1,500 in motion is over the 1 s target throughout.
    while (clock.t < start + 900) {
      expect(refusal(ac)).toBeUndefined();
      clock.t += 100;
      motion.settled += 100;
    }
    clock.t = start + 1_000;
    expect(refusal(ac)).toMatchObject({ kind: 'RESOURCE_EXHAUSTED' });
    expect(() => new AdmissionControl({ warmupMs: -1 })).toThrow(/warmupMs/);
    expect(() => new AdmissionControl({ warmupMs: Number.NaN })).toThrow(/warmupMs/);
    expect(new AdmissionControl({}).warmupMs).toBe(10_000);
  });

  it('is off without its inputs, and refuses bad settings', () => {
    const { ac, clock } = setup();
    for (let i = 0; i < 5; i++) {
      clock.t += 100;
      ac.observeCommitDelay(1, 0);
      expect(refusal(ac)).toBeUndefined();
    }
    expect(() => new AdmissionControl({ minInMotion: 0 })).toThrow(/minInMotion/);
    expect(() => new AdmissionControl({ targetSagaLatencyMs: -1 })).toThrow(/targetSagaLatencyMs/);
  });
});

describe('AdmissionControl never refuses while the coordinator has headroom (issue 14)', () => {
  /** With the shipped defaults (target 100 ms, interval 500 ms), an injected clock and every input scripted. */
  function withDefaults(inputs: { busy: number; inMotion: number; waitingMs: number }) {
    const clock = new FakeClock();
    const settled = { n: 0 };
    const ac = new AdmissionControl({
      clock,
      oldestWaitingMs: () => inputs.waitingMs,
      loopUtilization: () => inputs.busy,
      inMotion: () => inputs.inMotion,
      settled: () => settled.n,
    });
    return { ac, clock, settled };
  }

  type Segment = readonly [everyMs: number, delayMs: number, leftBehind: number, forMs: number];
  const cases: { name: string; busy: number; inMotion: number; segments: Segment[]; sheds: boolean }[] = [
    { name: 'steady load, healthy log', busy: 0.5, inMotion: 50, segments: [[4, 6, 0, 5_000]], sheds: false },
    // A 400 ms pause queues more than a batch; it drains in a few full batches.
    { name: 'a GC pause of 400 ms, then the queue drains', busy: 0.6, inMotion: 200, segments: [[4, 6, 0, 1_000], [400, 400, 500, 400], [10, 380, 250, 30], [5, 20, 0, 2_000]], sheds: false },
    // Slow writes: every write takes 150 ms, so each batch waited up to 300 ms (queued during the one before), but took everything queued.
    { name: 'a slow disk at low load: every batch waits 300 ms, nothing left behind', busy: 0.3, inMotion: 40, segments: [[150, 300, 0, 5_000]], sheds: false },
    { name: 'a busy event loop: delays of 120–400 ms, every other batch full', busy: 0.85, inMotion: 300, segments: Array.from({ length: 400 }, (_, i): Segment => [10, 120 + (i % 5) * 70, i % 2 === 0 ? 3 : 0, 10]), sheds: false },
    { name: 'a loop 85 % busy with 100,000 sagas waiting on participants', busy: 0.85, inMotion: 100_000, segments: [[5, 10, 0, 5_000]], sheds: false },
    // A cold start: the first seconds' settling rate is a fraction of the warm one.
    { name: 'a saturated loop with 5,000 in motion during the first 10 s (warm-up)', busy: 0.97, inMotion: 5_000, segments: [[5, 10, 0, 9_900]], sheds: false },
    // The controls: no headroom.
    { name: 'a standing backlog: full batches waiting 150 ms for 600 ms', busy: 0.5, inMotion: 300, segments: [[5, 10, 0, 1_000], [5, 150, 40, 600]], sheds: true },
    { name: 'a saturated loop with more in motion than drains in 1 s, after the warm-up', busy: 0.97, inMotion: 5_000, segments: [[5, 10, 0, 12_000]], sheds: true },
  ];

  it.each(cases)('$name: sheds $sheds', ({ busy, inMotion, segments, sheds }) => {
    const { ac, clock, settled } = withDefaults({ busy, inMotion, waitingMs: 0 });
    let refused = 0;
    for (const [everyMs, delayMs, leftBehind, forMs] of segments) {
      const end = clock.t + forMs;
      while (clock.t < end) {
        clock.t += everyMs;
        settled.n += 2; // sagas keep finishing
        ac.observeCommitDelay(delayMs, leftBehind);
        if (refusal(ac) !== undefined) refused += 1;
      }
    }
    if (sheds) expect(refused).toBeGreaterThan(0);
    else expect(refused).toBe(0);
  });

  it('property: any commit delays with nothing left behind, any backlog within target, a loop below 90 %, any number in motion: never refuses', () => {
    const step = fc.oneof(
      fc.record({ kind: fc.constant('batch' as const), dt: fc.integer({ min: 0, max: 2_000 }), delayMs: fc.double({ min: 0, max: 60_000, noNaN: true }), leftBehind: fc.constant(0) }),
      fc.record({ kind: fc.constant('batch' as const), dt: fc.integer({ min: 0, max: 2_000 }), delayMs: fc.double({ min: 0, max: 100, noNaN: true }), leftBehind: fc.integer({ min: 0, max: 100_000 }) }),
      fc.record({ kind: fc.constant('check' as const), dt: fc.integer({ min: 0, max: 2_000 }), delayMs: fc.constant(0), leftBehind: fc.constant(0) }),
    );
    fc.assert(
      fc.property(
        fc.array(fc.record({ step, busy: fc.double({ min: 0, max: 0.899, noNaN: true }), inMotion: fc.integer({ min: 0, max: 1_000_000 }), settle: fc.integer({ min: 0, max: 1_000 }), waitingMs: fc.double({ min: 0, max: 100, noNaN: true }) }), { maxLength: 200 }),
        (script) => {
          const inputs = { busy: 0, inMotion: 0, waitingMs: 0 };
          const { ac, clock, settled } = withDefaults(inputs);
          for (const s of script) {
            Object.assign(inputs, { busy: s.busy, inMotion: s.inMotion, waitingMs: s.waitingMs });
            clock.t += s.step.dt;
            settled.n += s.settle;
            if (s.step.kind === 'batch') ac.observeCommitDelay(s.step.delayMs, s.step.leftBehind);
            expect(refusal(ac)).toBeUndefined();
          }
          expect(ac.stats().shed).toBe(0);
        },
      ),
    );
  });

  it('property: after any history, full batches whose head stays above target for a whole interval are refused', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ dt: fc.integer({ min: 0, max: 1_000 }), delayMs: fc.double({ min: 0, max: 5_000, noNaN: true }), leftBehind: fc.integer({ min: 0, max: 1_000 }) }), { maxLength: 50 }),
        // Each batch at most 50 ms after the last, its oldest unit ≥ 50 ms beyond target: the head never dipped below it.
        fc.array(fc.record({ dt: fc.integer({ min: 1, max: 50 }), delayMs: fc.double({ min: 150, max: 10_000, noNaN: true }), leftBehind: fc.integer({ min: 1, max: 10_000 }) }), { minLength: 1, maxLength: 200 }),
        (history, backlog) => {
          const { ac, clock } = withDefaults({ busy: 0.5, inMotion: 100, waitingMs: 0 });
          for (const b of history) {
            clock.t += b.dt;
            ac.observeCommitDelay(b.delayMs, b.leftBehind);
            refusal(ac);
          }
          const from = clock.t;
          let i = 0;
          // Repeats the generated batches until the backlog has stood for an interval past its first 50 ms.
          while (clock.t < from + 50 + 500) {
            const b = backlog[i++ % backlog.length] as (typeof backlog)[number];
            clock.t += b.dt;
            ac.observeCommitDelay(b.delayMs, b.leftBehind);
          }
          expect(refusal(ac)?.kind).toBe('RESOURCE_EXHAUSTED');
        },
      ),
    );
  });
});
