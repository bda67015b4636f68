// One saga across three languages: TypeScript orders → Go stock → Python
// payment → TypeScript notification, on the success path and on a failure
// path with compensation.

import { Operation, SagaOutcome, type StepDefinition } from '@saga/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAST_RETRY } from '../support/order-scenario.js';
import { startCoordinator, startGoParticipant, startPythonParticipant, startTsParticipant } from '../support/launchers.js';
import type { ManagedProcess } from '../support/managed-process.js';
import { TestCoordinatorClient } from '../support/coordinator-client.js';
import { queryDb, scalar } from '../support/sqlite-inspect.js';
import { idFor, testDir } from '../support/test-dir.js';

const dir = testDir('mixed-language');
let procs: Record<'orders' | 'stock' | 'payment' | 'notification', ManagedProcess>;
let coordinator: ManagedProcess;
let client: TestCoordinatorClient;

beforeAll(async () => {
  const [orders, stock, payment, notification] = await Promise.all([
    startTsParticipant('orders', { db: dir.file('orders.db') }),
    startGoParticipant({ db: dir.file('stock.db'), seed: { stock: { 'sku-1': 50 } } }),
    startPythonParticipant({ db: dir.file('payment.db'), seed: { accounts: { 'acc-1': 10_000 } } }),
    startTsParticipant('notification', { db: dir.file('notification.db') }),
  ]);
  procs = { orders, stock, payment, notification };
  coordinator = await startCoordinator({
    db: dir.file('coordinator.db'),
    participants: Object.fromEntries(Object.entries(procs).map(([k, p]) => [k, p.address])),
  });
  client = new TestCoordinatorClient(coordinator.address);
});

afterAll(async () => {
  client?.close();
  await coordinator?.stop();
  await Promise.all(Object.values(procs ?? {}).map((p) => p.stop()));
  dir.remove();
});

function step(name: string, participant: string, action: string, compensateAction: string, payload: unknown, noCompensation = false): StepDefinition {
  return {
    name,
    participant,
    action,
    compensateAction,
    payload: Buffer.from(JSON.stringify(payload)),
    dependsOn: [],
    noCompensation,
    retry: FAST_RETRY,
    compensationRetry: FAST_RETRY,
    metadata: {},
  };
}

const saga = (amountCents: number): StepDefinition[] => [
  step('create-order', 'orders', 'create', 'cancel', { userId: 'user-1' }),
  step('reserve-stock', 'stock', 'deduct', 'restore', { sku: 'sku-1', quantity: 3 }),
  step('charge-payment', 'payment', 'charge', 'refund', { account: 'acc-1', amount_cents: amountCents }),
  step('notify-user', 'notification', 'send', 'send', { userId: 'user-1', message: 'paid' }, true),
];

const stockLeft = (): Promise<number> => scalar(dir.file('stock.db'), "SELECT quantity FROM stock WHERE sku = 'sku-1'");
const balance = (): Promise<number> => scalar(dir.file('payment.db'), "SELECT balance_cents FROM accounts WHERE account = 'acc-1'");

describe('mixed-language saga', () => {
  it('succeeds across TypeScript, Go and Python participants', async () => {
    const sagaId = idFor('mixed success');
    const [stockBefore, balanceBefore] = [await stockLeft(), await balance()];
    const r = await client.start({ sagaId, name: 'checkout', steps: saga(2500), waitMs: 30_000 });
    expect(r.outcome).toBe(SagaOutcome.SAGA_OUTCOME_COMPLETED);
    expect(await stockLeft()).toBe(stockBefore - 3);
    expect(await balance()).toBe(balanceBefore - 2500);
    const payments = await queryDb<{ status: string }>(dir.file('payment.db'), 'SELECT status FROM payments WHERE saga_id = ?', [sagaId]);
    expect(payments).toEqual([{ status: 'CHARGED' }]);
    expect(await scalar(dir.file('notification.db'), 'SELECT COUNT(*) FROM notifications WHERE saga_id = ?', [sagaId])).toBe(1);
    const record = await client.get(sagaId);
    expect(JSON.parse(record.steps[2]!.output.toString())).toMatchObject({ payment_id: expect.any(String), amount_cents: 2500 });
  });

  it('compensates Go stock and TypeScript orders in reverse when the Python payment fails', async () => {
    const sagaId = idFor('mixed failure');
    const [stockBefore, balanceBefore] = [await stockLeft(), await balance()];
    const r = await client.start({ sagaId, name: 'checkout', steps: saga(1_000_000), waitMs: 30_000 });
    expect(r.outcome).toBe(SagaOutcome.SAGA_OUTCOME_COMPENSATED);
    expect(r.failedStep).toBe('charge-payment');
    const record = await client.get(sagaId);
    expect(record.failureReason).toContain('INSUFFICIENT_FUNDS');
    const compStart = (name: string): number =>
      record.steps.find((s) => s.definition?.name === name)!.attempts.find((a) => a.operation === Operation.OPERATION_COMPENSATE)!.startedAt!.getTime();
    expect(compStart('charge-payment')).toBeLessThanOrEqual(compStart('reserve-stock'));
    expect(compStart('reserve-stock')).toBeLessThanOrEqual(compStart('create-order'));
    expect(await stockLeft()).toBe(stockBefore);
    expect(await balance()).toBe(balanceBefore);
    const orders = await queryDb<{ status: string }>(dir.file('orders.db'), 'SELECT status FROM orders WHERE saga_id = ?', [sagaId]);
    expect(orders).toEqual([{ status: 'CANCELLED' }]);
    expect(await scalar(dir.file('notification.db'), 'SELECT COUNT(*) FROM notifications WHERE saga_id = ?', [sagaId])).toBe(0);
  });
});
