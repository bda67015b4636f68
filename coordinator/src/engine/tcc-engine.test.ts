// The engine running TCC transactions over a real SQLite store and a scripted
// invoker: Try in order then Confirm all; a failed Try cancels every tried
// branch; Confirm past its policy goes MANUAL and RetrySaga finishes it;
// AbortSaga in the Try phase cancels, in the Confirm phase is refused; the
// deadline bounds the Try phase; after a "crash" (engine dropped) an in-doubt
// Try / Confirm is re-sent with the same attempt and key, and the kind comes
// back from the log.

import { setTimeout } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import type { SqliteStore } from '../store/sqlite/sqlite-store.js';
import type { WriteUnit } from '../store/store.js';
import type { InvokeResult } from './participant-invoker.js';
import { engineFixture, ok, ScriptedInvoker, start, step } from './engine-test-support.js';

const { dbPath, open, forget } = engineFixture();

const tcc = (steps: ReturnType<typeof step>[], extra: Parameters<typeof start>[1] = {}) => start(steps, { kind: 'TCC', ...extra });
const down: InvokeResult = { kind: 'error', code: 'UNAVAILABLE', message: 'down' };

describe('SagaEngine with TCC transactions', () => {
  it('tries every branch in order, then confirms every branch; GetSaga shows kind, phase and each operation', async () => {
    const invoker = new ScriptedInvoker((c) => ({ kind: 'succeeded', output: Buffer.from(`${c.operation}-${c.stepName}`) }));
    const { engine } = await open(dbPath('tcc-confirm'), invoker);
    const r = await engine.startSaga(tcc([step('stock'), step('points')]));
    expect(r.outcome).toBe('COMPLETED');
    expect(invoker.trace().slice(0, 2)).toEqual(['try:stock#1', 'try:points#1']);
    expect(invoker.trace().slice(2).sort()).toEqual(['confirm:points#1', 'confirm:stock#1']);
    const confirm = invoker.calls.find((c) => c.operation === 'confirm' && c.stepName === 'stock');
    expect(confirm?.idempotencyKey).toBe(`${r.sagaId}/stock/confirm`);
    expect(confirm?.action).toBe('stock');
    expect(confirm?.outputs.get('stock')?.toString()).toBe('try-stock');
    const view = await engine.getSaga(r.sagaId);
    expect(view).toMatchObject({ kind: 'TCC', phase: 'CONFIRM', state: 'COMPLETED', forwardStatus: 'SUCCEEDED', compensationStatus: 'NOT_NEEDED' });
    expect(view.steps.map((s) => [s.executeStatus, s.confirmStatus, s.compensateStatus])).toEqual([
      ['SUCCEEDED', 'SUCCEEDED', 'SKIPPED'],
      ['SUCCEEDED', 'SUCCEEDED', 'SKIPPED'],
    ]);
    expect(view.steps[0]?.attempts.map((a) => `${a.operation}:${a.outcome}`)).toEqual(['try:SUCCEEDED', 'confirm:SUCCEEDED']);
  });

  it('cancels every tried branch when a Try fails, and never tries or cancels the untried', async () => {
    const invoker = new ScriptedInvoker((c) => (c.operation === 'try' && c.stepName === 'points' ? { kind: 'failed', code: 'INSUFFICIENT_POINTS', message: 'short' } : ok));
    const { engine } = await open(dbPath('tcc-cancel'), invoker);
    const r = await engine.startSaga(tcc([step('stock'), step('points'), step('coupon')]));
    expect(r.outcome).toBe('COMPENSATED');
    expect(r.failedStep).toBe('points');
    expect(invoker.trace().slice(0, 2)).toEqual(['try:stock#1', 'try:points#1']);
    expect(invoker.trace().slice(2).sort()).toEqual(['cancel:points#1', 'cancel:stock#1']);
    const view = await engine.getSaga(r.sagaId);
    expect(view).toMatchObject({ kind: 'TCC', phase: 'CANCEL', forwardStatus: 'FAILED', compensationStatus: 'SUCCEEDED' });
    expect(view.failureReason).toMatch(/^try of branch points failed: INSUFFICIENT_POINTS/);
    expect(view.steps.map((s) => [s.executeStatus, s.confirmStatus, s.compensateStatus])).toEqual([
      ['SUCCEEDED', 'SKIPPED', 'SUCCEEDED'],
      ['FAILED', 'SKIPPED', 'SUCCEEDED'],
      ['SKIPPED', 'SKIPPED', 'SKIPPED'],
    ]);
  });

  it('goes to MANUAL when Confirm is past its policy; RetrySaga confirms with a fresh budget, same key', async () => {
    let broken = true;
    const invoker = new ScriptedInvoker((c) => (broken && c.operation === 'confirm' && c.stepName === 'points' ? down : ok));
    const { engine } = await open(dbPath('tcc-manual'), invoker);
    const r = await engine.startSaga(tcc([step('stock'), step('points')]));
    expect(r.outcome).toBe('MANUAL');
    expect(r.failureReason).toMatch(/^confirm of branch points gave up: UNAVAILABLE/);
    expect(invoker.trace().filter((t) => t.startsWith('confirm:points'))).toHaveLength(3);
    await expect(engine.abort(r.sagaId, 'x')).rejects.toMatchObject({ kind: 'FAILED_PRECONDITION' });
    broken = false;
    expect(await engine.retry(r.sagaId)).toBe('RUNNING');
    expect(await engine.waitForOutcome(r.sagaId, 5000)).toBe('COMPLETED');
    expect(invoker.trace().at(-1)).toBe('confirm:points#4');
    // The retried Confirm goes out in compensation epoch 1 (the count of RetrySaga), the first ones in 0.
    expect(invoker.calls.filter((c) => c.operation === 'confirm' && c.stepName === 'points').map((c) => c.compensationEpoch)).toEqual([0, 0, 0, 1]);
    expect(new Set(invoker.calls.filter((c) => c.operation === 'confirm' && c.stepName === 'points').map((c) => c.idempotencyKey)).size).toBe(1);
    // stock confirmed once: the retry drives only what did not succeed.
    expect(invoker.trace().filter((t) => t.startsWith('confirm:stock'))).toEqual(['confirm:stock#1']);
  });

  it('a saga id started again with another kind is ALREADY_EXISTS; with the same kind it is the same transaction', async () => {
    const invoker = new ScriptedInvoker(() => ok);
    const { engine } = await open(dbPath('tcc-idempotent'), invoker);
    const first = await engine.startSaga(tcc([step('a')], { sagaId: 'tx-1' }));
    expect(first.created).toBe(true);
    expect(await engine.startSaga(tcc([step('a')], { sagaId: 'tx-1' }))).toMatchObject({ created: false, outcome: 'COMPLETED' });
    await expect(engine.startSaga(start([step('a')], { sagaId: 'tx-1' }))).rejects.toMatchObject({ kind: 'ALREADY_EXISTS' });
    expect(invoker.trace()).toEqual(['try:a#1', 'confirm:a#1']);
  });

  it('answers StartSaga with the outcome only once it is durable, when the parallel Confirms commit apart', async () => {
    const invoker = new ScriptedInvoker(() => ok);
    // The write of a's Confirm result is slow: b's result, decided in memory as the outcome, commits first.
    const slowFirstConfirm = (store: SqliteStore): SqliteStore => {
      const commit = store.commit.bind(store);
      store.commit = async (unit: WriteUnit) => {
        if (unit.journal?.some((j) => j.event.t === 'result' && j.event.op === 'confirm' && j.event.s === 0)) await setTimeout(300);
        return commit(unit);
      };
      return store;
    };
    const { engine } = await open(dbPath('tcc-outcome-durable'), invoker, {}, slowFirstConfirm);
    const r = await engine.startSaga(tcc([step('a'), step('b')]));
    expect(r.outcome).toBe('COMPLETED');
    // Everything the answer stands on is in the log.
    const view = await engine.getSaga(r.sagaId);
    expect(view.state).toBe('COMPLETED');
    expect(view.steps.flatMap((x) => x.attempts.map((a) => `${a.operation}:${a.outcome}`))).toEqual([
      'try:SUCCEEDED',
      'confirm:SUCCEEDED',
      'try:SUCCEEDED',
      'confirm:SUCCEEDED',
    ]);
  });

  it('a cancelling transaction counts as a compensation in progress (slow-compensation alert), and stops counting when cancelled', async () => {
    const held: ((r: InvokeResult) => void)[] = [];
    const invoker = new ScriptedInvoker((c) =>
      c.operation === 'try' && c.stepName === 'b' ? { kind: 'failed', code: 'NO', message: 'no' } : c.operation === 'cancel' ? new Promise<InvokeResult>((res) => held.push(res)) : ok,
    );
    const { engine } = await open(dbPath('tcc-compensating-since'), invoker);
    const r = await engine.startSaga(tcc([step('a'), step('b')], { name: 'tcc-slow', waitMs: 0 }));
    await expect.poll(() => held.length).toBe(2);
    expect(engine.compensatingSince()).toMatchObject([{ sagaId: r.sagaId, sagaName: 'tcc-slow' }]);
    for (const answer of held) answer(ok);
    expect(await engine.waitForOutcome(r.sagaId, 5000)).toBe('COMPENSATED');
    expect(engine.compensatingSince()).toEqual([]);
  });

  it('resolves a MANUAL transaction with a note', async () => {
    const invoker = new ScriptedInvoker((c) => (c.operation === 'cancel' ? { kind: 'failed', code: 'GONE', message: 'cannot release' } : c.stepName === 'b' ? { kind: 'failed', code: 'NO', message: 'no' } : ok));
    const { engine } = await open(dbPath('tcc-resolve'), invoker);
    const r = await engine.startSaga(tcc([step('a'), step('b')]));
    expect(r.outcome).toBe('MANUAL');
    expect(await engine.resolve(r.sagaId, 'released by hand')).toBe('RESOLVED');
    const view = await engine.getSaga(r.sagaId);
    expect(view).toMatchObject({ state: 'RESOLVED', resolutionNote: 'released by hand', phase: 'CANCEL' });
  });

  it('aborts in the Try phase: the tried branches are cancelled', async () => {
    let releaseTry: (r: InvokeResult) => void = () => undefined;
    const invoker = new ScriptedInvoker((c) => (c.operation === 'try' && c.stepName === 'b' ? new Promise<InvokeResult>((res) => (releaseTry = res)) : ok));
    const { engine } = await open(dbPath('tcc-abort'), invoker);
    const r = await engine.startSaga(tcc([step('a'), step('b'), step('c')], { waitMs: 0 }));
    await expect.poll(() => invoker.trace()).toContain('try:b#1');
    expect(await engine.abort(r.sagaId, 'customer left')).toBe('COMPENSATING');
    // The outstanding Try is waited for, then its branch is cancelled too.
    releaseTry(ok);
    expect(await engine.waitForOutcome(r.sagaId, 5000)).toBe('COMPENSATED');
    expect(invoker.trace().slice(2).sort()).toEqual(['cancel:a#1', 'cancel:b#1']);
    const view = await engine.getSaga(r.sagaId);
    expect(view).toMatchObject({ forwardStatus: 'ABORTED', failureReason: 'aborted: customer left' });
  });

  it('the transaction deadline ends the Try phase with Cancel', async () => {
    const invoker = new ScriptedInvoker((c) => (c.operation === 'try' && c.stepName === 'b' ? down : ok));
    const { engine } = await open(dbPath('tcc-deadline'), invoker);
    const slow = { maxAttempts: 1000, attemptTimeoutMs: 1000, initialBackoffMs: 20, maxBackoffMs: 20, backoffMultiplier: 1 };
    const r = await engine.startSaga(tcc([step('a'), step('b', { retry: slow })], { deadlineMs: 200 }));
    expect(r.outcome).toBe('COMPENSATED');
    const view = await engine.getSaga(r.sagaId);
    expect(view.forwardStatus).toBe('DEADLINE_EXCEEDED');
    expect(invoker.trace().filter((t) => t.startsWith('cancel')).sort()).toEqual(['cancel:a#1', 'cancel:b#1']);
    // Every Try went out bounded by the deadline.
    for (const c of invoker.calls.filter((x) => x.operation === 'try')) expect(c.deadline).toBeLessThanOrEqual(view.deadlineAt!);
  });

  it.each(['try', 'confirm', 'cancel'] as const)('re-sends an in-doubt %s after a crash with the same attempt and key, folding the kind from the log', async (op) => {
    const path = dbPath(`tcc-recover-${op}`);
    // b's Try fails when the test is about cancel, so the second phase is Cancel.
    const answer = (c: { operation: string; stepName: string }): InvokeResult =>
      op === 'cancel' && c.operation === 'try' && c.stepName === 'b' ? { kind: 'failed', code: 'NO', message: 'no' } : ok;
    const hung = new ScriptedInvoker((c) => (c.operation === op && c.stepName === 'a' ? new Promise<InvokeResult>(() => undefined) : answer(c)));
    const first = await open(path, hung);
    const r = await first.engine.startSaga(tcc([step('a'), step('b')], { waitMs: 0 }));
    await expect.poll(() => hung.trace()).toContain(`${op}:a#1`);
    forget(first.engine);
    await first.store.close();
    const invoker = new ScriptedInvoker(answer);
    const second = await open(path, invoker);
    expect(await second.engine.waitForOutcome(r.sagaId, 5000)).toBe(op === 'cancel' ? 'COMPENSATED' : 'COMPLETED');
    const resent = invoker.calls.find((c) => c.operation === op && c.stepName === 'a');
    expect(resent?.attempt).toBe(1);
    expect(resent?.idempotencyKey).toBe(`${r.sagaId}/a/${op}`);
    // After the restart: the in-doubt call once, and only what was still to do.
    const after = { try: ['try:a#1', 'try:b#1', 'confirm:a#1', 'confirm:b#1'], confirm: ['confirm:a#1'], cancel: ['cancel:a#1'] }[op];
    expect(invoker.trace().sort()).toEqual([...after].sort());
    const view = await second.engine.getSaga(r.sagaId);
    expect(view.kind).toBe('TCC');
    expect(view.steps[0]?.attempts.find((a) => a.operation === op)?.resent).toBe(1);
  });
});
