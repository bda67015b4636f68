// The order saga end to end with real processes: coordinator + four TypeScript
// participants (orders, stock, points, notification), each with its own SQLite
// file, the coordinator on each store backend (SQLite, PostgreSQL). Effects
// are checked in the participants' own databases.

import { status } from '@grpc/grpc-js';
import {
  AttemptOutcome,
  ForwardStatus,
  Operation,
  SagaOutcome,
  SagaState,
  StepStatus,
  type Saga,
} from '@saga/proto';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fourSteps, orderSteps, startOrderScenario, type OrderScenario } from '../support/order-scenario.js';
import { queryDb, scalar } from '../support/sqlite-inspect.js';
import { STORE_BACKENDS, useStoreBackends } from '../support/store-backends.js';
import { idFor } from '../support/test-dir.js';

let s: OrderScenario;

const stores = useStoreBackends();

const stockDelta = (sagaId: string): Promise<number> =>
  scalar(s.db('stock'), 'SELECT COALESCE(SUM(delta), 0) FROM stock_movements WHERE saga_id = ?', [sagaId]);
const pointsDelta = (sagaId: string): Promise<number> =>
  scalar(s.db('points'), 'SELECT COALESCE(SUM(delta), 0) FROM points_movements WHERE saga_id = ?', [sagaId]);
const orderStatus = async (sagaId: string): Promise<string | undefined> =>
  (await queryDb<{ status: string }>(s.db('orders'), 'SELECT status FROM orders WHERE saga_id = ?', [sagaId]))[0]?.status;
const notifications = (sagaId: string): Promise<number> =>
  scalar(s.db('notification'), 'SELECT COUNT(*) FROM notifications WHERE saga_id = ?', [sagaId]);

function attempts(saga: Saga, step: string, op: Operation): NonNullable<Saga['steps'][number]['attempts']> {
  return saga.steps.find((x) => x.definition?.name === step)?.attempts.filter((a) => a.operation === op) ?? [];
}

function compensationStart(saga: Saga, step: string): number {
  return attempts(saga, step, Operation.OPERATION_COMPENSATE)[0]?.startedAt?.getTime() ?? Number.NaN;
}

function compensationEnd(saga: Saga, step: string): number {
  return attempts(saga, step, Operation.OPERATION_COMPENSATE).at(-1)?.finishedAt?.getTime() ?? Number.NaN;
}

describe.each(STORE_BACKENDS)('order saga (%s store)', (backend) => {
  beforeAll(async () => {
    s = await startOrderScenario(`order-saga ${backend}`, {}, await stores.location(backend, `order-saga ${backend}`));
  });

  afterAll(async () => {
    await s?.close();
  });

  it('completes the happy path and applies every effect once', async () => {
    const sagaId = idFor('happy path');
    const r = await s.client.start({ sagaId, name: 'place-order', steps: fourSteps(), waitMs: 20_000 });
    expect(r.outcome).toBe(SagaOutcome.SAGA_OUTCOME_COMPLETED);
    expect(await orderStatus(sagaId)).toBe('CREATED');
    expect(await stockDelta(sagaId)).toBe(-2);
    expect(await pointsDelta(sagaId)).toBe(-10);
    expect(await notifications(sagaId)).toBe(1);
    const saga = await s.client.get(sagaId);
    expect(saga.forwardStatus).toBe(ForwardStatus.FORWARD_STATUS_SUCCEEDED);
    expect(saga.steps.map((x) => x.executeStatus)).toEqual(new Array(4).fill(StepStatus.STEP_STATUS_SUCCEEDED));
    // Outputs are stored and reach later steps: the notification quotes step 1's order id.
    const { orderId } = JSON.parse(saga.steps[0]!.output.toString()) as { orderId: string };
    expect(orderId).toEqual(expect.any(String));
    const [sent] = await queryDb<{ context: string }>(s.db('notification'), 'SELECT context FROM notifications WHERE saga_id = ?', [sagaId]);
    const context = JSON.parse(sent!.context) as Record<string, string>;
    expect(JSON.parse(context['create-order']!)).toEqual({ orderId });
    expect(Object.keys(context).sort()).toEqual(['create-order', 'deduct-points', 'reserve-stock']);
  });

  it('compensates steps 3, 2, 1 in that order when step 3 of 4 fails', async () => {
    const sagaId = idFor('fail step three');
    const r = await s.client.start({
      sagaId,
      name: 'place-order',
      steps: fourSteps({ deductPoints: { payload: { userId: 'user-1', points: 100_000 } } }),
      waitMs: 20_000,
    });
    expect(r.outcome).toBe(SagaOutcome.SAGA_OUTCOME_COMPENSATED);
    expect(r.failedStep).toBe('deduct-points');
    const saga = await s.client.get(sagaId);
    expect(saga.failureReason).toContain('INSUFFICIENT_POINTS');
    const [points, stock, order] = ['deduct-points', 'reserve-stock', 'create-order'].map((n) => compensationStart(saga, n));
    expect(compensationEnd(saga, 'deduct-points')).toBeLessThanOrEqual(stock!);
    expect(compensationEnd(saga, 'reserve-stock')).toBeLessThanOrEqual(order!);
    expect(points).toBeLessThanOrEqual(stock!);
    expect(attempts(saga, 'notify-user', Operation.OPERATION_EXECUTE)).toHaveLength(0);
    expect(saga.steps[3]!.compensateStatus).toBe(StepStatus.STEP_STATUS_SKIPPED);
    expect(await stockDelta(sagaId)).toBe(0);
    expect(await pointsDelta(sagaId)).toBe(0);
    expect(await orderStatus(sagaId)).toBe('CANCELLED');
    expect(await notifications(sagaId)).toBe(0);
  });

  it('retries transient errors with backoff and then succeeds', async () => {
    const sagaId = idFor('transient retry');
    const r = await s.client.start({ sagaId, name: 'place-order', steps: fourSteps({ reserveStock: { faults: { execute: 'error@2' } } }), waitMs: 20_000 });
    expect(r.outcome).toBe(SagaOutcome.SAGA_OUTCOME_COMPLETED);
    const saga = await s.client.get(sagaId);
    const tries = attempts(saga, 'reserve-stock', Operation.OPERATION_EXECUTE);
    expect(tries.map((a) => a.outcome)).toEqual([
      AttemptOutcome.ATTEMPT_OUTCOME_ERROR,
      AttemptOutcome.ATTEMPT_OUTCOME_ERROR,
      AttemptOutcome.ATTEMPT_OUTCOME_SUCCEEDED,
    ]);
    expect(tries[0]!.errorCode).toBe('UNAVAILABLE');
    expect(await stockDelta(sagaId)).toBe(-2);
  });

  it('compensates when a step exhausts its attempts', async () => {
    const sagaId = idFor('exhausted');
    const r = await s.client.start({ sagaId, name: 'place-order', steps: fourSteps({ reserveStock: { faults: { execute: 'error' } } }), waitMs: 20_000 });
    expect(r.outcome).toBe(SagaOutcome.SAGA_OUTCOME_COMPENSATED);
    expect(r.failedStep).toBe('reserve-stock');
    const saga = await s.client.get(sagaId);
    expect(attempts(saga, 'reserve-stock', Operation.OPERATION_EXECUTE)).toHaveLength(4);
    // Dispatched at least once, so it is compensated too (a null compensation here).
    expect(attempts(saga, 'reserve-stock', Operation.OPERATION_COMPENSATE)).toHaveLength(1);
    expect(await stockDelta(sagaId)).toBe(0);
    expect(await orderStatus(sagaId)).toBe('CANCELLED');
  });

  it('parks a saga in MANUAL when compensation keeps failing, and RetrySaga finishes it once fixed', async () => {
    const sagaId = idFor('manual retry');
    const broken = s.dir.file(`${sagaId}.broken`);
    writeFileSync(broken, 'participant is broken');
    const r = await s.client.start({
      sagaId,
      name: 'place-order',
      steps: fourSteps({
        reserveStock: { faults: { compensate: `error-while-file=${broken}` }, compensationRetry: { maxAttempts: 3, attemptTimeoutMs: 2000, initialBackoffMs: 10, maxBackoffMs: 20, backoffMultiplier: 2 } },
        deductPoints: { payload: { userId: 'user-1', points: 100_000 } },
      }),
      waitMs: 20_000,
    });
    expect(r.outcome).toBe(SagaOutcome.SAGA_OUTCOME_MANUAL);
    let saga = await s.client.get(sagaId);
    expect(saga.failureReason).toContain('reserve-stock');
    expect(attempts(saga, 'reserve-stock', Operation.OPERATION_COMPENSATE)).toHaveLength(3);
    // Reverse order holds: the order is not cancelled while stock is not restored.
    expect(attempts(saga, 'create-order', Operation.OPERATION_COMPENSATE)).toHaveLength(0);
    expect(await stockDelta(sagaId)).toBe(-2);
    await expect(s.client.resolve(sagaId, '')).rejects.toMatchObject({ code: status.INVALID_ARGUMENT });

    rmSync(broken);
    expect(existsSync(broken)).toBe(false);
    expect(await s.client.retry(sagaId)).toBe(SagaState.SAGA_STATE_COMPENSATING);
    saga = await s.client.waitForState(sagaId, [SagaState.SAGA_STATE_COMPENSATED]);
    expect(attempts(saga, 'reserve-stock', Operation.OPERATION_COMPENSATE).at(-1)?.outcome).toBe(AttemptOutcome.ATTEMPT_OUTCOME_SUCCEEDED);
    expect(await stockDelta(sagaId)).toBe(0);
    expect(await orderStatus(sagaId)).toBe('CANCELLED');
  });

  it('lets an operator resolve a MANUAL saga with a note', async () => {
    const sagaId = idFor('resolve');
    const r = await s.client.start({
      sagaId,
      name: 'place-order',
      steps: fourSteps({
        reserveStock: { faults: { compensate: 'fail' } },
        deductPoints: { payload: { userId: 'user-1', points: 100_000 } },
      }),
      waitMs: 20_000,
    });
    expect(r.outcome).toBe(SagaOutcome.SAGA_OUTCOME_MANUAL);
    expect(await s.client.resolve(sagaId, 'stock restored by hand, ticket OPS-1')).toBe(SagaState.SAGA_STATE_RESOLVED);
    const saga = await s.client.get(sagaId);
    expect(saga.resolutionNote).toBe('stock restored by hand, ticket OPS-1');
    await expect(s.client.retry(sagaId)).rejects.toMatchObject({ code: status.FAILED_PRECONDITION });
  });

  it('aborts a running saga and compensates what was dispatched', async () => {
    const sagaId = idFor('abort');
    await s.client.start({ sagaId, name: 'place-order', steps: fourSteps({ reserveStock: { faults: { execute: 'sleep-before=600' } } }) });
    await s.client.waitForState(sagaId, [SagaState.SAGA_STATE_RUNNING]);
    await expect.poll(async () => (await s.client.get(sagaId)).steps[1]!.executeStatus === StepStatus.STEP_STATUS_RUNNING, { timeout: 10_000 }).toBe(true);
    expect(await s.client.abort(sagaId, 'customer cancelled')).toBe(SagaState.SAGA_STATE_COMPENSATING);
    const saga = await s.client.waitForState(sagaId, [SagaState.SAGA_STATE_COMPENSATED]);
    expect(saga.forwardStatus).toBe(ForwardStatus.FORWARD_STATUS_ABORTED);
    expect(saga.failureReason).toBe('customer cancelled');
    expect(attempts(saga, 'deduct-points', Operation.OPERATION_EXECUTE)).toHaveLength(0);
    expect(await stockDelta(sagaId)).toBe(0);
    expect(await orderStatus(sagaId)).toBe('CANCELLED');
    await expect(s.client.abort(sagaId, 'again')).rejects.toMatchObject({ code: status.FAILED_PRECONDITION });
  });

  it('runs parallel branches together and compensates them before their common root', async () => {
    const sagaId = idFor('parallel');
    const r = await s.client.start({
      sagaId,
      name: 'place-order',
      steps: [
        orderSteps.createOrder(),
        orderSteps.reserveStock({ dependsOn: ['create-order'], faults: { execute: 'sleep-before=300' } }),
        orderSteps.deductPoints({ dependsOn: ['create-order'], faults: { execute: 'sleep-before=300' }, payload: { userId: 'user-1', points: 100_000 } }),
        orderSteps.notifyUser({ dependsOn: ['reserve-stock', 'deduct-points'] }),
      ],
      waitMs: 20_000,
    });
    expect(r.outcome).toBe(SagaOutcome.SAGA_OUTCOME_COMPENSATED);
    const saga = await s.client.get(sagaId);
    const stockExec = attempts(saga, 'reserve-stock', Operation.OPERATION_EXECUTE)[0]!;
    const pointsExec = attempts(saga, 'deduct-points', Operation.OPERATION_EXECUTE)[0]!;
    // The two branches overlapped in time.
    expect(stockExec.startedAt!.getTime()).toBeLessThan(pointsExec.finishedAt!.getTime());
    expect(pointsExec.startedAt!.getTime()).toBeLessThan(stockExec.finishedAt!.getTime());
    const rootComp = compensationStart(saga, 'create-order');
    expect(compensationEnd(saga, 'reserve-stock')).toBeLessThanOrEqual(rootComp);
    expect(compensationEnd(saga, 'deduct-points')).toBeLessThanOrEqual(rootComp);
    expect(attempts(saga, 'notify-user', Operation.OPERATION_EXECUTE)).toHaveLength(0);
    expect(await stockDelta(sagaId)).toBe(0);
    expect(await orderStatus(sagaId)).toBe('CANCELLED');
  });

  it('compensates when the saga deadline passes', async () => {
    const sagaId = idFor('deadline');
    const r = await s.client.start({
      sagaId,
      name: 'place-order',
      steps: fourSteps({ reserveStock: { faults: { execute: 'error' }, retry: { maxAttempts: 1000, attemptTimeoutMs: 2000, initialBackoffMs: 50, maxBackoffMs: 50, backoffMultiplier: 1 } } }),
      options: { deadlineMs: 700, defaultRetry: undefined, defaultCompensationRetry: undefined },
      waitMs: 20_000,
    });
    expect(r.outcome).toBe(SagaOutcome.SAGA_OUTCOME_COMPENSATED);
    const saga = await s.client.get(sagaId);
    expect(saga.forwardStatus).toBe(ForwardStatus.FORWARD_STATUS_DEADLINE_EXCEEDED);
    expect(saga.deadline).toBeDefined();
    expect(attempts(saga, 'reserve-stock', Operation.OPERATION_EXECUTE).length).toBeGreaterThan(1);
    expect(await orderStatus(sagaId)).toBe('CANCELLED');
  });

  it('treats StartSaga with a known id as the same saga', async () => {
    const sagaId = idFor('idempotent');
    const first = await s.client.start({ sagaId, name: 'place-order', steps: fourSteps(), waitMs: 20_000 });
    const again = await s.client.start({ sagaId, name: 'place-order', steps: fourSteps(), waitMs: 20_000 });
    expect(first.created).toBe(true);
    expect(again.created).toBe(false);
    expect(again.outcome).toBe(SagaOutcome.SAGA_OUTCOME_COMPLETED);
    expect(await stockDelta(sagaId)).toBe(-2);
    await expect(
      s.client.start({ sagaId, name: 'place-order', steps: fourSteps({ reserveStock: { payload: { sku: 'sku-1', quantity: 3 } } }) }),
    ).rejects.toMatchObject({ code: status.ALREADY_EXISTS });
  });

  it('streams every durable change with WatchSaga until the outcome', async () => {
    const sagaId = idFor('watch');
    await s.client.start({ sagaId, name: 'place-order', steps: fourSteps({ reserveStock: { faults: { execute: 'sleep-before=200' } } }) });
    const snapshots = await s.client.watch(sagaId);
    expect(snapshots.length).toBeGreaterThanOrEqual(2);
    const versions = snapshots.map((x) => x.version);
    expect([...versions].sort((x, y) => x - y)).toEqual(versions);
    expect(new Set(versions).size).toBe(versions.length);
    expect(snapshots.at(-1)!.state).toBe(SagaState.SAGA_STATE_COMPLETED);
    expect(snapshots.slice(0, -1).every((x) => x.state === SagaState.SAGA_STATE_RUNNING)).toBe(true);
    await expect(s.client.watch('no-such-saga')).rejects.toMatchObject({ code: status.NOT_FOUND });
  });

  it('lists sagas by state and name, newest first, page by page', async () => {
    const name = `list-${Math.random().toString(36).slice(2, 8)}`;
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const sagaId = idFor('list', String(i));
      ids.push(sagaId);
      await s.client.start({ sagaId, name, steps: [orderSteps.createOrder()], waitMs: 20_000 });
    }
    const first = await s.client.list({ name, pageSize: 2 });
    expect(first.sagas.map((x) => x.sagaId)).toEqual([ids[4], ids[3]]);
    const second = await s.client.list({ name, pageSize: 2, pageToken: first.nextPageToken });
    const third = await s.client.list({ name, pageSize: 2, pageToken: second.nextPageToken });
    expect([...second.sagas, ...third.sagas].map((x) => x.sagaId)).toEqual([ids[2], ids[1], ids[0]]);
    expect(third.nextPageToken).toBe('');
    const completed = await s.client.list({ name, states: [SagaState.SAGA_STATE_COMPLETED] });
    expect(completed.sagas).toHaveLength(5);
    expect(await s.client.list({ name, states: [SagaState.SAGA_STATE_MANUAL] })).toMatchObject({ sagas: [] });
    await expect(s.client.list({ pageToken: 'garbage!' })).rejects.toMatchObject({ code: status.INVALID_ARGUMENT });
  });

  it('answers STILL_RUNNING, never a false failure, when the wait ends first', async () => {
    const sagaId = idFor('still running');
    const r = await s.client.start({ sagaId, name: 'place-order', steps: fourSteps({ reserveStock: { faults: { execute: 'sleep-before=500' } } }), waitMs: 100 });
    expect(r.outcome).toBe(SagaOutcome.SAGA_OUTCOME_STILL_RUNNING);
    expect(r.state).toBe(SagaState.SAGA_STATE_RUNNING);
    await s.client.waitForState(sagaId, [SagaState.SAGA_STATE_COMPLETED]);
  });
});
