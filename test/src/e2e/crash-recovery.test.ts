// kill -9 of the coordinator at the dangerous instants, then a restart on the
// same log (SQLite and PostgreSQL): every saga reaches the right terminal state and every
// participant's effect is applied exactly once (participants dedupe by
// idempotency key through their barrier).

import { Operation, SagaState } from '@saga/proto';
import { afterEach, describe, expect, it } from 'vitest';
import { fourSteps, INITIAL_POINTS, INITIAL_STOCK, startOrderScenario, type OrderScenario } from '../support/order-scenario.js';
import { queryDb, scalar } from '../support/sqlite-inspect.js';
import { STORE_BACKENDS, storeScalar, useStoreBackends } from '../support/store-backends.js';
import { idFor } from '../support/test-dir.js';

let s: OrderScenario | undefined;

afterEach(async () => {
  await s?.close();
  s = undefined;
});

const TERMINAL = [SagaState.SAGA_STATE_COMPLETED, SagaState.SAGA_STATE_COMPENSATED, SagaState.SAGA_STATE_MANUAL];


async function expectKilled(sc: OrderScenario): Promise<void> {
  const exit = await sc.coordinator.exited;
  expect(exit.signal).toBe('SIGKILL');
}

async function movements(sc: OrderScenario, sagaId: string): Promise<number[]> {
  const rows = await queryDb<{ delta: number }>(sc.db('stock'), 'SELECT delta FROM stock_movements WHERE saga_id = ? ORDER BY rowid', [sagaId]);
  return rows.map((r) => r.delta);
}

const stores = useStoreBackends();

describe.each(STORE_BACKENDS)('crash recovery (%s store)', (backend) => {
  const scenario = async (name: string, env: Record<string, string> = {}): Promise<OrderScenario> => {
    const dir = `${name} ${backend}`;
    s = await startOrderScenario(dir, env, await stores.location(backend, dir));
    return s;
  };
  const crashAt = (name: string, point: string): Promise<OrderScenario> => scenario(name, { SAGA_TEST_CRASH_AT: point });

  it('re-sends a call whose intent was durable but never sent (crash before the RPC)', async () => {
    const sc = await crashAt('crash after intent', 'after-dispatch-commit:reserve-stock:execute');
    const sagaId = idFor('crash after intent');
    await sc.client.start({ sagaId, name: 'place-order', steps: fourSteps() });
    await expectKilled(sc);
    expect(await movements(sc, sagaId)).toEqual([]);
    await sc.restartCoordinator();
    const saga = await sc.client.waitForState(sagaId, TERMINAL);
    expect(saga.state).toBe(SagaState.SAGA_STATE_COMPLETED);
    expect(await movements(sc, sagaId)).toEqual([-2]);
    const stockAttempts = saga.steps[1]!.attempts.filter((a) => a.operation === Operation.OPERATION_EXECUTE);
    expect(stockAttempts).toHaveLength(1);
    expect(stockAttempts[0]!.resent).toBe(1);
  });

  it('re-sends with the same key after the participant applied the step but before the result was durable', async () => {
    const sc = await crashAt('crash before result', 'before-result-commit:reserve-stock:execute');
    const sagaId = idFor('crash before result');
    await sc.client.start({ sagaId, name: 'place-order', steps: fourSteps() });
    await expectKilled(sc);
    // The participant applied it; the coordinator never learned.
    expect(await movements(sc, sagaId)).toEqual([-2]);
    await sc.restartCoordinator();
    const saga = await sc.client.waitForState(sagaId, TERMINAL);
    expect(saga.state).toBe(SagaState.SAGA_STATE_COMPLETED);
    expect(await movements(sc, sagaId)).toEqual([-2]);
    expect(await scalar(sc.db('stock'), "SELECT COUNT(*) FROM saga_barrier WHERE saga_id = ? AND op = 'execute'", [sagaId])).toBe(1);
  });

  it('finishes a compensation interrupted in the middle, restoring exactly once', async () => {
    const sc = await crashAt('crash in compensation', 'before-result-commit:reserve-stock:compensate');
    const sagaId = idFor('crash in compensation');
    await sc.client.start({ sagaId, name: 'place-order', steps: fourSteps({ deductPoints: { payload: { userId: 'user-1', points: 100_000 } } }) });
    await expectKilled(sc);
    expect(await movements(sc, sagaId)).toEqual([-2, 2]);
    await sc.restartCoordinator();
    const saga = await sc.client.waitForState(sagaId, TERMINAL);
    expect(saga.state).toBe(SagaState.SAGA_STATE_COMPENSATED);
    expect(await movements(sc, sagaId)).toEqual([-2, 2]);
    const orders = await queryDb<{ status: string }>(sc.db('orders'), 'SELECT status FROM orders WHERE saga_id = ?', [sagaId]);
    expect(orders).toEqual([{ status: 'CANCELLED' }]);
  });

  it('re-sends a compensation whose intent was durable but never sent', async () => {
    const sc = await crashAt('crash before compensate rpc', 'after-dispatch-commit:create-order:compensate');
    const sagaId = idFor('crash before compensate rpc');
    await sc.client.start({ sagaId, name: 'place-order', steps: fourSteps({ deductPoints: { payload: { userId: 'user-1', points: 100_000 } } }) });
    await expectKilled(sc);
    await sc.restartCoordinator();
    const saga = await sc.client.waitForState(sagaId, TERMINAL);
    expect(saga.state).toBe(SagaState.SAGA_STATE_COMPENSATED);
    expect(await movements(sc, sagaId)).toEqual([-2, 2]);
  });

  it('recovers many sagas killed mid-flight with every effect exactly once', async () => {
    const sc = await scenario('crash many');
    const ids = Array.from({ length: 40 }, (_, i) => idFor('crash many', String(i)));
    // Slow participants keep calls in flight; points run out after 10 sagas, so
    // both completions and compensations are interrupted.
    await Promise.all(
      ids.map((sagaId) =>
        sc.client.start({
          sagaId,
          name: 'place-order',
          steps: fourSteps({ reserveStock: { faults: { execute: 'sleep-after=40' } }, deductPoints: { faults: { execute: 'sleep-after=40' } } }),
        }),
      ),
    );
    // Kill once some sagas are done and others are not.
    await expect.poll(async () => (await storeScalar(sc.db('coordinator'), "SELECT COUNT(*) FROM sagas WHERE state <> 'RUNNING'")) >= 5, { timeout: 30_000 }).toBe(true);
    await sc.coordinator.crash();
    const unfinished = await storeScalar(sc.db('coordinator'), "SELECT COUNT(*) FROM sagas WHERE state IN ('RUNNING', 'COMPENSATING')");
    expect(unfinished).toBeGreaterThan(0);
    await sc.restartCoordinator();
    const sagas = await Promise.all(ids.map((id) => sc.client.waitForState(id, TERMINAL, 60_000)));
    const completed = sagas.filter((x) => x.state === SagaState.SAGA_STATE_COMPLETED).length;
    expect(sagas.every((x) => x.state === SagaState.SAGA_STATE_COMPLETED || x.state === SagaState.SAGA_STATE_COMPENSATED)).toBe(true);
    expect(completed).toBe(INITIAL_POINTS / 10);
    expect(await scalar(sc.db('stock'), "SELECT quantity FROM stock WHERE sku = 'sku-1'")).toBe(INITIAL_STOCK - 2 * completed);
    expect(await scalar(sc.db('points'), "SELECT points FROM accounts WHERE user_id = 'user-1'")).toBe(0);
    expect(await scalar(sc.db('orders'), "SELECT COUNT(*) FROM orders WHERE status = 'CREATED'")).toBe(completed);
    expect(await scalar(sc.db('notification'), 'SELECT COUNT(*) FROM notifications')).toBe(completed);
    for (const saga of sagas) {
      const deltas = await movements(sc, saga.sagaId);
      expect(deltas).toEqual(saga.state === SagaState.SAGA_STATE_COMPLETED ? [-2] : [-2, 2]);
    }
  });
});
