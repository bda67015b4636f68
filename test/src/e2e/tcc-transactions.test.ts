// TCC transactions through the coordinator, with real processes: the TS stock
// ("reserve") and points ("freeze") participants freeze in Try, deduct in
// Confirm, release in Cancel, the freeze visible in their own tables. A failed
// Try cancels the tried branches; a Try whose answer is lost is cancelled (its
// freeze released); a Try arriving after its Cancel is refused; a Confirm past
// its policy goes MANUAL and RetrySaga completes it; and the coordinator
// killed -9 at each phase boundary and mid-phase ends, after a restart, with
// exactly one Confirm or Cancel effect per branch.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SagaClient, type RetryPolicy, type SagaRecord, type SagaState } from '@saga/sdk';
import { afterEach, describe, expect, it } from 'vitest';
import { startCoordinator, startTsParticipant } from '../support/launchers.js';
import type { ManagedProcess } from '../support/managed-process.js';
import { queryDb } from '../support/sqlite-inspect.js';
import { idFor, testDir } from '../support/test-dir.js';
import { waitFor } from '../support/wait-for.js';

const FAST: RetryPolicy = { maxAttempts: 4, attemptTimeoutMs: 3000, initialBackoffMs: 10, maxBackoffMs: 50, backoffMultiplier: 2 };
const STOCK = 10;
const POINTS = 100;

interface Scenario {
  coordinator: ManagedProcess;
  readonly pointsProcess: ManagedProcess;
  client: SagaClient;
  stock(): Promise<{ quantity: number; frozen: number; freezes: string[] }>;
  points(): Promise<{ points: number; frozen: number; freezes: string[] }>;
  restartCoordinator(): Promise<void>;
  close(): Promise<void>;
}

let current: Scenario | undefined;

afterEach(async () => {
  await current?.close();
  current = undefined;
});

async function scenario(name: string, coordinatorEnv: Record<string, string> = {}): Promise<Scenario> {
  const dir = testDir(name);
  const started: ManagedProcess[] = [];
  try {
    const [stock, points] = await Promise.all([
      startTsParticipant('stock', { db: dir.file('stock.db'), seed: { stock: { A: STOCK } } }),
      startTsParticipant('points', { db: dir.file('points.db'), seed: { points: { 'user-1': POINTS } } }),
    ]);
    started.push(stock, points);
    const participants = { stock: stock.address, points: points.address };
    const coordinator = await startCoordinator({ db: dir.file('coordinator.db'), participants, env: coordinatorEnv });
    const s: Scenario = {
      coordinator,
      pointsProcess: points,
      client: new SagaClient({ address: coordinator.address }),
      stock: async () => ({
        ...(await queryDb<{ quantity: number; frozen: number }>(dir.file('stock.db'), "SELECT quantity, frozen FROM stock WHERE sku = 'A'"))[0]!,
        freezes: (await queryDb<{ status: string }>(dir.file('stock.db'), 'SELECT status FROM stock_freezes ORDER BY saga_id')).map((r) => r.status),
      }),
      points: async () => ({
        ...(await queryDb<{ points: number; frozen: number }>(dir.file('points.db'), "SELECT points, frozen FROM accounts WHERE user_id = 'user-1'"))[0]!,
        freezes: (await queryDb<{ status: string }>(dir.file('points.db'), 'SELECT status FROM points_freezes ORDER BY saga_id')).map((r) => r.status),
      }),
      async restartCoordinator() {
        await s.coordinator.stop();
        s.client.close();
        // Without the crash point: the restarted coordinator recovers from the log.
        s.coordinator = await startCoordinator({ db: dir.file('coordinator.db'), participants, port: s.coordinator.port });
        s.client = new SagaClient({ address: s.coordinator.address });
      },
      async close() {
        s.client.close();
        await s.coordinator.stop();
        await Promise.all(started.map((p) => p.stop()));
        dir.remove();
      },
    };
    current = s;
    return s;
  } catch (err) {
    await Promise.all(started.map((p) => p.stop()));
    dir.remove();
    throw err;
  }
}

interface Checkout {
  quantity?: number;
  points?: number;
  /** Fault directives per branch and operation (participants/ts/src/faults.ts). */
  stockFaults?: Record<string, string>;
  pointsFaults?: Record<string, string>;
  tryRetry?: RetryPolicy;
  confirmCancelRetry?: RetryPolicy;
}

const faultMetadata = (faults: Record<string, string> = {}): Record<string, string> =>
  Object.fromEntries(Object.entries(faults).map(([op, value]) => [`fault.${op}`, value]));

function checkout(s: Scenario, sagaId: string, o: Checkout = {}) {
  const retries = { tryRetry: o.tryRetry ?? FAST, confirmCancelRetry: o.confirmCancelRetry ?? FAST };
  return s.client
    .tcc('checkout')
    .branch('stock', { participant: 'stock', action: 'reserve', payload: { sku: 'A', quantity: o.quantity ?? 3 }, metadata: faultMetadata(o.stockFaults), ...retries })
    .branch('points', { participant: 'points', action: 'freeze', payload: { userId: 'user-1', points: o.points ?? 30 }, metadata: faultMetadata(o.pointsFaults), ...retries })
    .start({ sagaId });
}

async function settled(s: Scenario, sagaId: string, states: SagaState[] = ['COMPLETED', 'COMPENSATED', 'MANUAL'], timeoutMs = 30_000): Promise<SagaRecord> {
  return waitFor(
    async () => {
      const saga = await s.client.get(sagaId).catch(() => undefined);
      return saga !== undefined && states.includes(saga.state) && saga;
    },
    `transaction ${sagaId} in ${states.join('/')}`,
    timeoutMs,
  );
}

const ops = (saga: SagaRecord, branch: string): string[] =>
  saga.steps.find((x) => x.name === branch)!.attempts.map((a) => `${a.operation}:${a.outcome}`);

const CONFIRMED = { stock: { quantity: STOCK - 3, frozen: 0, freezes: ['DEDUCTED'] }, points: { points: POINTS - 30, frozen: 0, freezes: ['DEDUCTED'] } };
const RELEASED = { stock: { quantity: STOCK, frozen: 0, freezes: ['RELEASED'] }, points: { points: POINTS, frozen: 0, freezes: ['RELEASED'] } };

async function expectBalances(s: Scenario, expected: typeof CONFIRMED): Promise<void> {
  expect({ stock: await s.stock(), points: await s.points() }).toEqual(expected);
}

describe('TCC transactions through the coordinator (TS stock + points)', () => {
  it('tries both branches, then confirms both: the freezes are deducted', async () => {
    const s = await scenario('tcc e2e confirm');
    const sagaId = idFor('tcc e2e confirm');
    // A slow stock confirm, so that its freeze is seen while the transaction is confirming.
    const patient: RetryPolicy = { ...FAST, attemptTimeoutMs: 15_000 };
    await checkout(s, sagaId, { stockFaults: { confirm: 'sleep-before=2500' }, confirmCancelRetry: patient });
    const confirming = await waitFor(async () => {
      const saga = await s.client.get(sagaId);
      return saga.phase === 'CONFIRM' && saga;
    }, 'confirm phase');
    expect(confirming).toMatchObject({ kind: 'TCC', state: 'RUNNING' });
    expect(await s.stock()).toEqual({ quantity: STOCK - 3, frozen: 3, freezes: ['FROZEN'] });
    const saga = await settled(s, sagaId);
    expect(saga).toMatchObject({ state: 'COMPLETED', kind: 'TCC', phase: 'CONFIRM', forwardStatus: 'SUCCEEDED' });
    for (const b of saga.steps) expect([b.executeStatus, b.confirmStatus, b.compensateStatus]).toEqual(['SUCCEEDED', 'SUCCEEDED', 'SKIPPED']);
    expect(ops(saga, 'stock')).toEqual(['TRY:SUCCEEDED', 'CONFIRM:SUCCEEDED']);
    await expectBalances(s, CONFIRMED);
  });

  it('cancels the tried branch when a Try FAILS: the freeze is released, the failed branch froze nothing', async () => {
    const s = await scenario('tcc e2e try fails');
    const sagaId = idFor('tcc e2e try fails');
    await checkout(s, sagaId, { points: POINTS + 1 });
    const saga = await settled(s, sagaId);
    expect(saga).toMatchObject({ state: 'COMPENSATED', phase: 'CANCEL', failedStep: 'points', forwardStatus: 'FAILED', compensationStatus: 'SUCCEEDED' });
    expect(saga.failureReason).toMatch(/INSUFFICIENT_POINTS/);
    expect(ops(saga, 'stock')).toEqual(['TRY:SUCCEEDED', 'CANCEL:SUCCEEDED']);
    expect(ops(saga, 'points')).toEqual(['TRY:FAILED', 'CANCEL:SUCCEEDED']);
    expect(await s.stock()).toEqual({ quantity: STOCK, frozen: 0, freezes: ['RELEASED'] });
    // The failed Try froze nothing; its Cancel (the Try was sent) is a null cancel.
    expect(await s.points()).toEqual({ points: POINTS, frozen: 0, freezes: [] });
  });

  it('cancels a Try whose answer was lost (it froze, then timed out): the freeze is released', async () => {
    const s = await scenario('tcc e2e try in doubt');
    const sagaId = idFor('tcc e2e try in doubt');
    const once: RetryPolicy = { ...FAST, maxAttempts: 1, attemptTimeoutMs: 400 };
    await checkout(s, sagaId, { pointsFaults: { try: 'sleep-after=1500' }, tryRetry: once });
    const saga = await settled(s, sagaId);
    expect(saga).toMatchObject({ state: 'COMPENSATED', failedStep: 'points' });
    expect(ops(saga, 'points')).toEqual(['TRY:ERROR', 'CANCEL:SUCCEEDED']);
    expect(saga.steps[1]!.attempts[0]!.errorCode).toBe('DEADLINE_EXCEEDED');
    await expectBalances(s, RELEASED);
  });

  it('refuses a Try that arrives after its Cancel (hanging): nothing stays frozen', async () => {
    const s = await scenario('tcc e2e hanging try');
    const sagaId = idFor('tcc e2e hanging try');
    const once: RetryPolicy = { ...FAST, maxAttempts: 1, attemptTimeoutMs: 300 };
    const refused = s.pointsProcess.watchLog((line) => line.includes('"barrier":"hanging"'));
    await checkout(s, sagaId, { pointsFaults: { try: 'sleep-before=2000' }, tryRetry: once });
    const saga = await settled(s, sagaId);
    expect(saga).toMatchObject({ state: 'COMPENSATED', failedStep: 'points' });
    expect(ops(saga, 'points')).toEqual(['TRY:ERROR', 'CANCEL:SUCCEEDED']);
    // The late Try reaches the barrier after its (null) Cancel and is refused: nothing frozen.
    await waitFor(() => refused(), 'the late try refused by the points barrier', 15_000);
    expect(await s.points()).toEqual({ points: POINTS, frozen: 0, freezes: [] });
    expect(await s.stock()).toEqual({ quantity: STOCK, frozen: 0, freezes: ['RELEASED'] });
  });

  it('goes to MANUAL when Confirm fails past its policy; RetrySaga confirms and completes', async () => {
    const s = await scenario('tcc e2e confirm manual');
    const sagaId = idFor('tcc e2e confirm manual');
    const down = join(mkdtempSync(join(tmpdir(), 'tcc-down-')), 'points-down');
    writeFileSync(down, '');
    try {
      const twice: RetryPolicy = { ...FAST, maxAttempts: 2 };
      await checkout(s, sagaId, { pointsFaults: { confirm: `error-while-file=${down}` }, confirmCancelRetry: twice });
      const manual = await settled(s, sagaId);
      expect(manual).toMatchObject({ state: 'MANUAL', phase: 'CONFIRM' });
      expect(manual.failureReason).toMatch(/^confirm of branch points gave up/);
      expect(ops(manual, 'points')).toEqual(['TRY:SUCCEEDED', 'CONFIRM:ERROR', 'CONFIRM:ERROR']);
      // Still frozen: the points are neither deducted nor released.
      expect(await s.points()).toEqual({ points: POINTS - 30, frozen: 30, freezes: ['FROZEN'] });
      rmSync(down);
      expect(await s.client.retry(sagaId)).toBe('RUNNING');
      const saga = await settled(s, sagaId, ['COMPLETED']);
      expect(ops(saga, 'points')).toEqual(['TRY:SUCCEEDED', 'CONFIRM:ERROR', 'CONFIRM:ERROR', 'CONFIRM:SUCCEEDED']);
      expect(ops(saga, 'stock')).toEqual(['TRY:SUCCEEDED', 'CONFIRM:SUCCEEDED']);
      await expectBalances(s, CONFIRMED);
    } finally {
      rmSync(join(down, '..'), { recursive: true, force: true });
    }
  });
});

describe('TCC across a coordinator kill -9', () => {
  it.each([
    // Mid Try phase: the first Try's intent is durable, not sent / answered, not recorded.
    ['after-dispatch-commit', 'stock', 'try', 'confirm', 'mid try phase, before the call'],
    ['before-result-commit', 'stock', 'try', 'confirm', 'mid try phase, the freeze made, not recorded'],
    // Phase boundary: the last Try answered, the Confirm phase not yet durable.
    ['before-result-commit', 'points', 'try', 'confirm', 'the last try answered, the phase not durable'],
    // Phase boundary: the Confirm phase durable, its first call not sent.
    ['after-dispatch-commit', 'stock', 'confirm', 'confirm', 'confirm phase durable, confirm not sent'],
    // Mid Confirm phase: deducted, not recorded.
    ['before-result-commit', 'points', 'confirm', 'confirm', 'mid confirm phase, deducted, not recorded'],
    // Phase boundary into Cancel (points' Try fails): the Cancel phase durable, its call not sent.
    ['after-dispatch-commit', 'stock', 'cancel', 'cancel', 'cancel phase durable, cancel not sent'],
    // Mid Cancel phase: released, not recorded.
    ['before-result-commit', 'stock', 'cancel', 'cancel', 'mid cancel phase, released, not recorded'],
  ] as const)('kill -9 at %s of %s %s ends with one %s per branch (%s)', async (point, branch, op, outcome, why) => {
    const name = `tcc crash ${point} ${branch} ${op}`;
    const s = await scenario(name, { SAGA_TEST_CRASH_AT: `${point}:${branch}:${op}` });
    const sagaId = idFor(name);
    const order: Checkout = outcome === 'cancel' ? { points: POINTS + 1 } : {};
    // A crash at the first Try's dispatch comes before StartSaga is answered (the call fails UNAVAILABLE).
    const started = await checkout(s, sagaId, order).catch((err: unknown) => err);
    const exit = await s.coordinator.exited;
    expect(exit.signal, why).toBe('SIGKILL');
    await s.restartCoordinator();
    // The transaction was durable before any call went out: starting it again is a repeat, not a new one.
    expect(await checkout(s, sagaId, order)).toMatchObject({ created: false });
    if (started instanceof Error) expect(`${point}:${branch}:${op}`).toBe('after-dispatch-commit:stock:try');
    const saga = await settled(s, sagaId);
    if (outcome === 'confirm') {
      expect(saga.state).toBe('COMPLETED');
      await expectBalances(s, CONFIRMED);
      for (const b of saga.steps) expect(b.attempts.filter((a) => a.operation === 'CANCEL')).toEqual([]);
    } else {
      expect(saga.state).toBe('COMPENSATED');
      expect(await s.stock()).toEqual(RELEASED.stock);
      expect(await s.points()).toEqual({ points: POINTS, frozen: 0, freezes: [] });
      for (const b of saga.steps) expect(b.attempts.filter((a) => a.operation === 'CONFIRM')).toEqual([]);
    }
    // The call in doubt at the crash was re-sent with its attempt number, not retried as a new one.
    const inDoubt = saga.steps.find((b) => b.name === branch)!.attempts.filter((a) => a.operation === op.toUpperCase());
    expect(inDoubt.map((a) => a.number)).toEqual([1]);
    expect(inDoubt[0]!.resent).toBe(1);
  });
});
