// RetrySaga opens a new compensation epoch, sent with every Compensate: the
// count of retry events in the saga's log, so a re-send after a crash keeps it.

import { describe, expect, it } from 'vitest';
import type { InvokeResult, StepInvocation } from './participant-invoker.js';
import { engineFixture, ok, ScriptedInvoker, start, step } from './engine-test-support.js';

const { dbPath, open, forget } = engineFixture();

const cannotUndo: InvokeResult = { kind: 'failed', code: 'CANNOT_UNDO', message: 'account frozen' };
const compensationsOf = (calls: readonly StepInvocation[]): string[] =>
  calls.filter((c) => c.operation === 'compensate').map((c) => `${c.stepName}#${c.attempt}@${c.compensationEpoch}`);

describe('compensation epoch', () => {
  it('is 0 until a RetrySaga, then the number of retries, also after a restart', async () => {
    const path = dbPath('epoch');
    const failing = new ScriptedInvoker((c) => (c.operation === 'execute' ? (c.stepName === 'b' ? { kind: 'failed', code: 'NOPE', message: 'no' } : ok) : cannotUndo));
    const first = await open(path, failing);
    const r = await first.engine.startSaga(start([step('a'), step('b')]));
    expect(r.outcome).toBe('MANUAL');
    expect(failing.calls.every((c) => c.compensationEpoch === 0)).toBe(true);
    expect(await first.engine.retry(r.sagaId)).toBe('COMPENSATING');
    expect(await first.engine.waitForOutcome(r.sagaId, 5000)).toBe('MANUAL');
    // The failed step b is compensated first; its compensation cannot be done.
    expect(compensationsOf(failing.calls)).toEqual(['b#1@0', 'b#2@1']);
    await first.engine.close();
    await first.store.close();

    // A new process folds the epoch from the log.
    const fixed = new ScriptedInvoker(() => ok);
    const second = await open(path, fixed);
    expect(await second.engine.retry(r.sagaId)).toBe('COMPENSATING');
    expect(await second.engine.waitForOutcome(r.sagaId, 5000)).toBe('COMPENSATED');
    // Every compensation of this epoch carries it, also a's first.
    expect(compensationsOf(fixed.calls)).toEqual(['b#3@2', 'a#1@2']);
  });

  it('is carried by the re-sent call itself', async () => {
    const path = dbPath('resend');
    const failing = new ScriptedInvoker((c) => (c.operation === 'execute' ? (c.stepName === 'b' ? { kind: 'failed', code: 'NOPE', message: 'no' } : ok) : cannotUndo));
    const first = await open(path, failing);
    const r = await first.engine.startSaga(start([step('a'), step('b')]));
    failing.behavior = () => new Promise<InvokeResult>(() => undefined);
    await first.engine.retry(r.sagaId);
    forget(first.engine);
    await first.store.close();
    const after = new ScriptedInvoker(() => ok);
    const second = await open(path, after);
    expect(await second.engine.waitForOutcome(r.sagaId, 5000)).toBe('COMPENSATED');
    // Same attempt, same key, same epoch as the call lost in the crash.
    expect(compensationsOf(after.calls)).toEqual(['b#2@1', 'a#1@1']);
    expect(after.calls[0]?.idempotencyKey).toBe(failing.calls.at(-1)?.idempotencyKey);
  });
});
