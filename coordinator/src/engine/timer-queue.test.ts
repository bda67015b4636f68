// The timer queue against a model (a plain map of key → wake-up time): what
// fires, in what order, and that each key holds one heap entry however often
// its wake-up is replaced; clear() cancels everything and leaves it usable.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TimerQueue, type TimerHost } from './timer-queue.js';

/** A host whose timers never fire by themselves: the test calls fireDue(). */
function manualHost(): TimerHost & { armedMs: number[] } {
  const armedMs: number[] = [];
  return {
    armedMs,
    setTimeout: (_fn, ms) => {
      armedMs.push(ms);
      return armedMs.length;
    },
    clearTimeout: () => undefined,
  };
}

function queue(): { q: TimerQueue; fired: string[]; clock: { t: number; now(): number } } {
  const clock = { t: 0, now: () => clock.t };
  const fired: string[] = [];
  const q = new TimerQueue(clock, (k) => fired.push(k), manualHost());
  return { q, fired, clock };
}

type Op =
  | { kind: 'set'; key: string; at: number }
  | { kind: 'cancel'; key: string }
  | { kind: 'advance'; by: number };

const key = fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f', 'g', 'h');
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('set' as const), key, at: fc.integer({ min: 0, max: 200 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('cancel' as const), key }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('advance' as const), by: fc.integer({ min: 0, max: 40 }) }) },
);

describe('TimerQueue', () => {
  it('keeps one entry per key when a wake-up is replaced again and again', () => {
    const { q, fired, clock } = queue();
    for (let i = 0; i < 10_000; i++) q.set('saga', 3_600_000 + i);
    q.set('other', 5);
    expect(q.size).toBe(2);
    expect(q.entryCount).toBe(2);
    clock.t = 5;
    q.fireDue();
    expect(fired).toEqual(['other']);
    expect(q.entryCount).toBe(1);
  });

  it('drops the entry of a cancelled key at once, not when its time comes', () => {
    const { q } = queue();
    for (let i = 0; i < 1_000; i++) q.set(`s${i}`, 3_600_000);
    for (let i = 0; i < 1_000; i += 2) q.cancel(`s${i}`);
    expect(q.entryCount).toBe(500);
  });

  it('fires exactly the keys due, earliest first, as a map of key to time would', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 200 }), (ops) => {
        const { q, fired, clock } = queue();
        const model = new Map<string, number>();
        for (const o of ops) {
          if (o.kind === 'set') {
            q.set(o.key, o.at);
            model.set(o.key, o.at);
          } else if (o.kind === 'cancel') {
            q.cancel(o.key);
            model.delete(o.key);
          } else {
            clock.t += o.by;
            fired.length = 0;
            q.fireDue();
            const due = [...model].filter(([, at]) => at <= clock.t);
            expect([...fired].sort()).toEqual(due.map(([k]) => k).sort());
            // Earliest first: the times of what fired never go down.
            const times = fired.map((k) => model.get(k) as number);
            expect(times).toEqual([...times].sort((x, y) => x - y));
            for (const [k] of due) model.delete(k);
          }
          expect(q.size).toBe(model.size);
          expect(q.entryCount).toBe(model.size);
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe('TimerQueue.clear', () => {
  it('cancels every wake-up and stays usable', () => {
    const { q, fired, clock } = queue();
    q.set('a', 10);
    q.set('b', 20);
    q.clear();
    expect(q.size).toBe(0);
    clock.t = 30;
    q.fireDue();
    expect(fired).toEqual([]);
    q.set('c', 35);
    clock.t = 40;
    q.fireDue();
    expect(fired).toEqual(['c']);
  });
});
