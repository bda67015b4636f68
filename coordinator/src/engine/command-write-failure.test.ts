// An operator command (abort, retry, resolve) whose write fails: the saga in
// memory is left exactly as the log has it, so that the next command or result
// starts from the log.

import { describe, expect, it } from 'vitest';
import type { Store } from '../store/store.js';
import type { SqliteStore } from '../store/sqlite/sqlite-store.js';
import type { InvokeResult } from './participant-invoker.js';
import { engineFixture, ok, ScriptedInvoker, start, step } from './engine-test-support.js';

const { dbPath, open } = engineFixture();

/** The store with commit() failing while `failing.on` is set (a full disk). */
function failingCommits(failing: { on: boolean }): (store: SqliteStore) => Store {
  return (store) =>
    new Proxy(store, {
      get(target, prop, receiver) {
        if (prop === 'commit' && failing.on) return () => Promise.reject(new Error('SQLITE_FULL: database or disk is full'));
        const value: unknown = Reflect.get(target, prop, receiver);
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
}

const businessFailure: InvokeResult = { kind: 'failed', code: 'NOPE', message: 'no' };

describe('an operator command whose write fails', () => {
  it('RetrySaga: the saga stays MANUAL in memory, and a second RetrySaga finishes it', async () => {
    let compensationWorks = false;
    const invoker = new ScriptedInvoker((c) => {
      if (c.operation === 'execute') return c.stepName === 'b' ? businessFailure : ok;
      return compensationWorks ? ok : { kind: 'failed', code: 'STUCK', message: 'cannot undo yet' };
    });
    const failing = { on: false };
    const { engine } = await open(dbPath('retry-write-fails'), invoker, {}, failingCommits(failing));
    const r = await engine.startSaga(start([step('a'), step('b')]));
    expect(r.outcome).toBe('MANUAL');
    compensationWorks = true;

    failing.on = true;
    await expect(engine.retry(r.sagaId)).rejects.toThrow(/SQLITE_FULL/);
    failing.on = false;
    expect(engine.activeCount()).toBe(0);
    expect((await engine.getSaga(r.sagaId)).state).toBe('MANUAL');

    expect(await engine.retry(r.sagaId)).toBe('COMPENSATING');
    expect(await engine.waitForOutcome(r.sagaId, 5000)).toBe('COMPENSATED');
    const view = await engine.getSaga(r.sagaId);
    expect(view.steps[0]?.compensateStatus).toBe('SUCCEEDED');
    // The failed RetrySaga opened no compensation epoch: the log has one retry.
    expect(new Set(invoker.calls.slice(-2).map((c) => `${c.operation}@${c.compensationEpoch}`))).toEqual(new Set(['compensate@1']));
  });

  it('AbortSaga: the saga runs on as the log has it, its later events numbered after the log', async () => {
    let release: (() => void) | undefined;
    const invoker = new ScriptedInvoker((c) =>
      c.operation === 'execute' && c.stepName === 'a' ? new Promise<InvokeResult>((resolve) => (release = () => resolve(ok))) : ok,
    );
    const failing = { on: false };
    const { engine, store } = await open(dbPath('abort-write-fails'), invoker, {}, failingCommits(failing));
    const r = await engine.startSaga(start([step('a'), step('b')], { waitMs: 0 }));
    await expect.poll(() => release !== undefined).toBe(true);

    failing.on = true;
    await expect(engine.abort(r.sagaId, 'customer cancelled')).rejects.toThrow(/SQLITE_FULL/);
    failing.on = false;
    release?.();

    expect(await engine.waitForOutcome(r.sagaId, 5000)).toBe('COMPLETED');
    expect(invoker.trace()).toEqual(['execute:a#1', 'execute:b#1']);
    // Every event after the failed write was appended right after the log's last one.
    const row = await store.getSagaRow(r.sagaId);
    const journal = await store.getJournal(row?.key ?? -1);
    expect(journal.map((e) => e.t)).toEqual(['dispatch', 'result', 'dispatch', 'result', 'finish']);
    expect((await engine.getSaga(r.sagaId)).version).toBe(journal.length);
  });

  it('ResolveSaga: the saga stays MANUAL, and a second ResolveSaga resolves it', async () => {
    const invoker = new ScriptedInvoker((c) => (c.operation === 'execute' ? businessFailure : { kind: 'failed', code: 'SHIPPED', message: 'cannot undo' }));
    const failing = { on: false };
    const { engine } = await open(dbPath('resolve-write-fails'), invoker, {}, failingCommits(failing));
    const r = await engine.startSaga(start([step('a')]));
    expect(r.outcome).toBe('MANUAL');
    failing.on = true;
    await expect(engine.resolve(r.sagaId, 'refunded by hand')).rejects.toThrow(/SQLITE_FULL/);
    failing.on = false;
    expect((await engine.getSaga(r.sagaId)).state).toBe('MANUAL');
    expect(await engine.resolve(r.sagaId, 'refunded by hand')).toBe('RESOLVED');
  });
});
