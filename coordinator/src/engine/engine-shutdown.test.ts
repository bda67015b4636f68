// close(): results of calls in flight are recorded within the drain bound but
// start nothing new; a call still out at the bound is abandoned unrecorded and
// re-sent at the next start with the same attempt and key; nothing is written
// after close.

import { describe, expect, it } from 'vitest';
import type { InvokeResult } from './participant-invoker.js';
import { engineFixture, ok, ScriptedInvoker, start, step } from './engine-test-support.js';

const { dbPath, open, forget } = engineFixture();

/** Holds every Execute of `held` until release(); the rest succeed. */
function holding(held: string): { invoker: ScriptedInvoker; release: (r?: InvokeResult) => void; arrived: () => boolean } {
  const waiting: ((r: InvokeResult) => void)[] = [];
  const invoker = new ScriptedInvoker((c) =>
    c.operation === 'execute' && c.stepName === held ? new Promise<InvokeResult>((resolve) => waiting.push(resolve)) : ok,
  );
  return {
    invoker,
    release: (r = ok) => {
      for (const w of waiting.splice(0)) w(r);
    },
    arrived: () => waiting.length > 0,
  };
}

/** What the log holds for the saga after close(); then the store lets go of the file, as the process exit does. */
async function loggedThenReleased(
  opened: Awaited<ReturnType<typeof open>>,
  sagaId: string,
): Promise<{ state: string | undefined; events: string[] }> {
  const row = await opened.store.getSagaRow(sagaId);
  const events = (await opened.store.getJournal(row?.key ?? -1)).map((e) => e.t);
  await opened.store.close();
  forget(opened.engine);
  return { state: row?.state, events };
}

const once = { maxAttempts: 1, attemptTimeoutMs: 60_000, initialBackoffMs: 10, maxBackoffMs: 10, backoffMultiplier: 1 };

describe('SagaEngine.close', () => {
  it('records a result that arrives during the drain but dispatches no next step; the next start does', async () => {
    const path = dbPath('drain-no-dispatch');
    const a = holding('a');
    const first = await open(path, a.invoker, { drainTimeoutMs: 10_000 });
    const r = await first.engine.startSaga(start([step('a'), step('b')], { waitMs: 0 }));
    await expect.poll(a.arrived).toBe(true);
    const closed = first.engine.close();
    await expect(first.engine.startSaga(start([step('a')], { waitMs: 0 }))).rejects.toMatchObject({ kind: 'UNAVAILABLE' });
    await expect(first.engine.abort(r.sagaId, 'x')).rejects.toMatchObject({ kind: 'UNAVAILABLE' });
    a.release();
    await closed;
    expect(a.invoker.trace()).toEqual(['execute:a#1']);
    expect(await loggedThenReleased(first, r.sagaId)).toEqual({ state: 'RUNNING', events: ['dispatch', 'result'] });

    const next = new ScriptedInvoker(() => ok);
    const second = await open(path, next);
    expect(await second.engine.waitForOutcome(r.sagaId, 5000)).toBe('COMPLETED');
    expect(next.trace()).toEqual(['execute:b#1']);
  });

  it('abandons a call held past the drain without recording it; the restart re-sends it with the same attempt and key', async () => {
    const path = dbPath('drain-abandon');
    // Like the gRPC invoker: an aborted call answers CANCELLED.
    let firstKey = '';
    const invoker = new ScriptedInvoker(
      (c, signal) =>
        new Promise<InvokeResult>((resolve) => {
          firstKey = c.idempotencyKey;
          signal.addEventListener('abort', () => resolve({ kind: 'error', code: 'CANCELLED', message: 'call cancelled' }), { once: true });
        }),
    );
    const first = await open(path, invoker, { drainTimeoutMs: 50 });
    const r = await first.engine.startSaga(start([step('a', { retry: once })], { waitMs: 0 }));
    await expect.poll(() => invoker.calls.length).toBe(1);
    await first.engine.close();
    expect(await loggedThenReleased(first, r.sagaId)).toEqual({ state: 'RUNNING', events: ['dispatch'] });

    const next = new ScriptedInvoker(() => ok);
    const second = await open(path, next);
    expect(await second.engine.waitForOutcome(r.sagaId, 5000)).toBe('COMPLETED');
    expect(next.trace()).toEqual(['execute:a#1']);
    expect(next.calls[0]?.idempotencyKey).toBe(firstKey);
    const view = await second.engine.getSaga(r.sagaId);
    expect(view.steps[0]?.attempts).toMatchObject([{ number: 1, outcome: 'SUCCEEDED', resent: 1 }]);
  });

  it('neither writes nor fails when a result comes back after close and after the store closed', async () => {
    const path = dbPath('drain-late');
    // A participant call that ignores the abort and answers late.
    const a = holding('a');
    const first = await open(path, a.invoker, { drainTimeoutMs: 20 });
    let fatal: Error | undefined;
    first.engine.onFatal((err) => (fatal = err));
    const r = await first.engine.startSaga(start([step('a'), step('b')], { waitMs: 0 }));
    await expect.poll(a.arrived).toBe(true);
    await first.engine.close();
    await first.store.close();
    a.release();
    // The answer is delivered on a later turn; give it those turns by waiting on a store read of another connection.
    const second = await open(path, new ScriptedInvoker(() => ok));
    expect(fatal).toBeUndefined();
    expect(await second.engine.waitForOutcome(r.sagaId, 5000)).toBe('COMPLETED');
    forget(first.engine);
  });
});
