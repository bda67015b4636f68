// The decider while the coordinator shuts down ({ dispatch: false }): results,
// compensation starts and outcomes are still decided, no call is dispatched, and
// holding a dispatch never turns a saga MANUAL that could still move.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { JournalEvent } from '../domain/journal-event.js';
import type { Operation } from '../domain/saga-types.js';
import { decide } from './saga-decider.js';
import { start, step } from './engine-test-support.js';
import { applyEvent, SagaRuntime } from './saga-runtime.js';

const once = { maxAttempts: 1, attemptTimeoutMs: 1000, initialBackoffMs: 1, maxBackoffMs: 1, backoffMultiplier: 1 };

function saga(steps: number): SagaRuntime {
  const req = start(Array.from({ length: steps }, (_, i) => step(`s${i}`, { retry: once, compensationRetry: once })));
  return new SagaRuntime({ key: 1, id: 'saga-1', definition: req.definition, createdAt: 0, deadlineAt: undefined, definitionHash: req.definitionHash }, false);
}

const at = 1;
const apply = (s: SagaRuntime, events: JournalEvent[]): void => events.forEach((e) => applyEvent(s, e));
const ok = (i: number, op: Operation = 'execute'): JournalEvent => ({ t: 'result', at, s: i, op, n: 1, o: 'S' });
const failed = (i: number, op: Operation = 'execute'): JournalEvent => ({ t: 'result', at, s: i, op, n: 1, o: 'F', code: 'X', msg: 'x' });

describe('decide while shutting down (dispatch: false)', () => {
  it('dispatches no next step after a result', () => {
    const s = saga(2);
    decide(s, at);
    apply(s, [ok(0)]);
    expect(decide(s, at, { dispatch: false }).events).toEqual([]);
    expect(decide(s, at).events.map((e) => e.t)).toEqual(['dispatch']);
  });

  it('still finishes a saga whose last step succeeded', () => {
    const s = saga(1);
    decide(s, at);
    apply(s, [ok(0)]);
    const d = decide(s, at, { dispatch: false });
    expect(d.events).toMatchObject([{ t: 'finish', state: 'COMPLETED' }]);
  });

  it('starts compensation after a failure but sends no Compensate, and does not give up (MANUAL)', () => {
    const s = saga(2);
    decide(s, at);
    apply(s, [ok(0)]);
    decide(s, at);
    apply(s, [failed(1)]);
    const d = decide(s, at, { dispatch: false });
    expect(d.events.map((e) => e.t)).toEqual(['compensate']);
    expect(s.state).toBe('COMPENSATING');
  });

  it('does not give up (MANUAL) on a saga whose held Compensate of another branch could still run', () => {
    // a and b are roots, d depends on b: d fails; a's compensation fails for good; d's succeeds, which frees b's.
    const req = start([step('a', { compensationRetry: once }), step('b', { compensationRetry: once }), step('d', { dependsOn: ['b'], retry: once })]);
    const s = new SagaRuntime({ key: 1, id: 'saga-2', definition: req.definition, createdAt: 0, deadlineAt: undefined, definitionHash: req.definitionHash }, false);
    decide(s, at);
    apply(s, [ok(0), ok(1)]);
    decide(s, at);
    apply(s, [failed(2)]);
    expect(decide(s, at).events.filter((e) => e.t === 'dispatch')).toMatchObject([{ s: 2, op: 'compensate' }, { s: 0, op: 'compensate' }]);
    apply(s, [failed(0, 'compensate')]);
    expect(decide(s, at).events).toEqual([]);
    apply(s, [ok(2, 'compensate')]);
    expect(decide(s, at, { dispatch: false }).events).toEqual([]);
    expect(s.state).toBe('COMPENSATING');
    expect(decide(s, at).events).toMatchObject([{ t: 'dispatch', s: 1, op: 'compensate' }]);
  });

  it('never dispatches, and never finishes MANUAL where the normal decision would not', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 4 }), fc.array(fc.boolean(), { maxLength: 12 }), (steps, outcomes) => {
        // Drive a saga with the normal decider, answering each dispatch as `outcomes` says; at every point
        // compare a held decision with a normal one on two copies folded from the same journal.
        const journal: JournalEvent[] = [];
        const live = saga(steps);
        const record = (events: JournalEvent[]): void => {
          apply(live, events);
          journal.push(...events);
        };
        // decide() applies what it decides; the journal keeps it for the copies.
        const decideLive = (): void => void journal.push(...decide(live, at).events);
        decideLive();
        for (const succeed of outcomes) {
          const inFlight = live.steps.findIndex((x) => x.inFlight !== undefined);
          if (inFlight < 0 || !live.isActive()) break;
          const op = live.steps[inFlight]?.inFlight ?? 'execute';
          record([succeed ? ok(inFlight, op) : failed(inFlight, op)]);
          const held = saga(steps);
          const normal = saga(steps);
          apply(held, journal);
          apply(normal, journal);
          const h = decide(held, at, { dispatch: false }).events;
          const n = decide(normal, at).events;
          expect(h.some((e) => e.t === 'dispatch')).toBe(false);
          if (h.some((e) => e.t === 'finish' && e.state === 'MANUAL')) expect(n.some((e) => e.t === 'finish' && e.state === 'MANUAL')).toBe(true);
          decideLive();
        }
      }),
      { numRuns: 300 },
    );
  });
});
