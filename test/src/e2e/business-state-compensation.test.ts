// Compensation decided by business state, with real processes: the checkout
// saga (TS orders, Python payment + gateway stand-in, TS notification) fails
// at different points, so the order is compensated as CREATED (cancel), PAID
// (refund) or SHIPPED (return); an unknown state sends the saga to MANUAL.
// The refund reaches the payment gateway exactly once, also when its answer
// is lost and when the coordinator is killed -9 between dispatch and result.

import { rmSync, writeFileSync } from 'node:fs';
import sqlite3 from 'sqlite3';
import { SagaClient, type SagaRecord, type SagaState } from '@saga/sdk';
import { afterEach, describe, expect, it } from 'vitest';
import {
  checkoutSteps,
  INITIAL_BALANCE,
  paymentIdOf,
  startCheckoutScenario,
  type CheckoutOptions,
  type CheckoutScenario,
} from '../support/checkout-scenario.js';
import { idFor } from '../support/test-dir.js';
import { waitFor } from '../support/wait-for.js';

let s: CheckoutScenario | undefined;
let client: SagaClient | undefined;

afterEach(async () => {
  client?.close();
  client = undefined;
  await s?.close();
  s = undefined;
});

async function scenario(name: string, env: Record<string, string> = {}): Promise<CheckoutScenario> {
  s = await startCheckoutScenario(name, env);
  client = new SagaClient({ address: s.coordinator.address });
  return s;
}

async function checkout(sagaId: string, o: CheckoutOptions): Promise<void> {
  await client!.startSaga({ name: 'checkout', steps: checkoutSteps(o) }, { sagaId });
}

async function settled(sagaId: string, states: SagaState[] = ['COMPENSATED', 'COMPLETED', 'MANUAL'], timeoutMs = 30_000): Promise<SagaRecord> {
  return waitFor(
    async () => {
      const saga = await client!.get(sagaId).catch(() => undefined);
      return saga !== undefined && states.includes(saga.state) && saga;
    },
    `saga ${sagaId} in ${states.join('/')}`,
    timeoutMs,
  );
}

function compensations(saga: SagaRecord, step: string): SagaRecord['steps'][number]['attempts'] {
  return saga.steps.find((x) => x.name === step)!.attempts.filter((a) => a.operation === 'COMPENSATE');
}

/** Runs a checkout failing at `failure` and expects it COMPENSATED, failed at `failedStep`. */
async function compensatedCheckout(name: string, failure: CheckoutOptions['failure'], failedStep: string) {
  const sc = await scenario(name);
  const sagaId = idFor(name);
  await checkout(sagaId, { failure });
  const saga = await settled(sagaId);
  expect(saga.state).toBe('COMPENSATED');
  expect(saga.failedStep).toBe(failedStep);
  const order = (await sc.order(sagaId))!;
  return { sc, sagaId, order };
}

describe('business-state compensation (checkout saga)', () => {
  it('cancels a CREATED order when the payment is refused, and tells the user; the gateway is never called', async () => {
    const { sc, sagaId, order } = await compensatedCheckout('state created cancel', 'payment-refused', 'charge-payment');
    expect(order.status).toBe('CANCELLED');
    expect((await sc.transitions(order.order_id)).map((t) => [t.from_state, t.to_state])).toEqual([
      [null, 'CREATED'],
      ['CREATED', 'CANCELLED'],
    ]);
    const notices = await sc.notices(sagaId);
    expect(notices).toHaveLength(1);
    expect(notices[0]!.message).toMatch(/cancelled\.$/);
    expect(await sc.gateway(paymentIdOf(sagaId))).toEqual({ requests: 0, refunds: 0 });
    expect(await sc.balance()).toBe(INITIAL_BALANCE);
  });

  it('refunds a PAID order through the gateway once, marks the payment REFUNDED, updates the order and tells the user', async () => {
    const { sc, sagaId, order } = await compensatedCheckout('state paid refund', 'shipping-refused', 'ship-order');
    expect(order).toMatchObject({ status: 'REFUNDED', payment_ref: paymentIdOf(sagaId) });
    expect((await sc.transitions(order.order_id)).map((t) => t.to_state)).toEqual(['CREATED', 'PAID', 'REFUNDED']);
    expect(await sc.payment(sagaId)).toEqual({ payment_id: paymentIdOf(sagaId), status: 'REFUNDED', refund_id: `rf-${paymentIdOf(sagaId)}` });
    expect(await sc.gateway(paymentIdOf(sagaId))).toEqual({ requests: 1, refunds: 1 });
    expect(await sc.balance()).toBe(INITIAL_BALANCE);
    const notices = await sc.notices(sagaId);
    expect(notices.map((n) => n.message)).toEqual([`Your order ${order.order_id} was cancelled and refunded.`]);
  });

  it('starts a return for a SHIPPED order when a later step fails, and refunds once', async () => {
    const { sc, sagaId, order } = await compensatedCheckout('state shipped return', 'after-shipping', 'notify-shipped');
    expect(order.status).toBe('RETURN_REQUESTED');
    expect((await sc.transitions(order.order_id)).map((t) => t.to_state)).toEqual(['CREATED', 'PAID', 'SHIPPED', 'RETURN_REQUESTED']);
    expect((await sc.notices(sagaId)).map((n) => n.message)).toEqual([`Your order ${order.order_id} was cancelled; a return has been started.`]);
    expect(await sc.gateway(paymentIdOf(sagaId))).toEqual({ requests: 1, refunds: 1 });
  });

  it('goes to MANUAL with a clear reason when the order is in a state the compensation does not know', async () => {
    const sc = await scenario('state unknown manual');
    const sagaId = idFor('state unknown manual');
    // The charge fails transiently while the file exists, so the test can move
    // the order into a state no compensation is defined for before the charge
    // is finally refused.
    const hold = `${sc.db('orders')}.hold`;
    writeFileSync(hold, '');
    await checkout(sagaId, {
      failure: 'payment-refused',
      faults: { 'charge-payment': { execute: `error-while-file=${hold}` } },
      paymentRetry: { maxAttempts: 1000, attemptTimeoutMs: 2_000, initialBackoffMs: 10, maxBackoffMs: 20, backoffMultiplier: 2 },
    });
    await waitFor(() => sc.order(sagaId), 'the order row');
    await writeOrderState(sc.db('orders'), sagaId, 'DISPUTED');
    rmSync(hold);
    const saga = await settled(sagaId);
    expect(saga.state).toBe('MANUAL');
    const failed = compensations(saga, 'create-order');
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({ outcome: 'FAILED', errorCode: 'UNKNOWN_ORDER_STATE' });
    expect(failed[0]!.errorMessage).toContain('"DISPUTED"');
    expect(saga.failureReason).toContain('UNKNOWN_ORDER_STATE');
    expect((await sc.order(sagaId))!.status).toBe('DISPUTED');
    expect(await sc.notices(sagaId)).toEqual([]);
  });

  it('calls the gateway once when the refund answer is lost and the coordinator retries', async () => {
    const sc = await scenario('refund lost answer');
    const sagaId = idFor('refund lost answer');
    await checkout(sagaId, {
      failure: 'shipping-refused',
      // The first refund commits, then answers too late; the retry is answered by the barrier.
      faults: { 'charge-payment': { compensate: 'sleep-after=3000@1' } },
      paymentCompensationRetry: { maxAttempts: 5, attemptTimeoutMs: 500, initialBackoffMs: 10, maxBackoffMs: 50, backoffMultiplier: 2 },
    });
    const saga = await settled(sagaId);
    expect(saga.state).toBe('COMPENSATED');
    const refunds = compensations(saga, 'charge-payment');
    expect(refunds.length).toBeGreaterThanOrEqual(2);
    expect(refunds[0]!.outcome).toBe('ERROR');
    expect(refunds.at(-1)!.outcome).toBe('SUCCEEDED');
    expect(await sc.gateway(paymentIdOf(sagaId))).toEqual({ requests: 1, refunds: 1 });
    expect(await sc.balance()).toBe(INITIAL_BALANCE);
    expect((await sc.order(sagaId))!.status).toBe('REFUNDED');
  });

  it.each([
    ['after-dispatch-commit', 'the intent is durable, the refund not yet sent', 0],
    ['before-result-commit', 'the gateway refunded, the result is not yet durable', 1],
  ] as const)('refunds exactly once across a coordinator kill -9 at %s (%s)', async (point, _why, requestsBeforeRestart) => {
    const sc = await scenario(`refund crash ${point}`, { SAGA_TEST_CRASH_AT: `${point}:charge-payment:compensate` });
    const sagaId = idFor(`refund crash ${point}`);
    await checkout(sagaId, { failure: 'shipping-refused' });
    const exit = await sc.coordinator.exited;
    expect(exit.signal).toBe('SIGKILL');
    expect(await sc.gateway(paymentIdOf(sagaId))).toEqual({ requests: requestsBeforeRestart, refunds: requestsBeforeRestart });
    await sc.restartCoordinator();
    client!.close();
    client = new SagaClient({ address: sc.coordinator.address });
    const saga = await settled(sagaId);
    expect(saga.state).toBe('COMPENSATED');
    expect(await sc.gateway(paymentIdOf(sagaId))).toEqual({ requests: 1, refunds: 1 });
    expect((await sc.payment(sagaId))!.status).toBe('REFUNDED');
    expect(await sc.balance()).toBe(INITIAL_BALANCE);
    expect((await sc.order(sagaId))!.status).toBe('REFUNDED');
    expect(await sc.notices(sagaId)).toHaveLength(1);
  });
});

async function writeOrderState(db: string, sagaId: string, state: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const conn = new sqlite3.Database(db, (err) => {
      if (err) return reject(err);
      conn.configure('busyTimeout', 5_000);
      conn.run('UPDATE orders SET status = ? WHERE saga_id = ?', [state, sagaId], (e) => conn.close(() => (e ? reject(e) : resolve())));
    });
  });
}
