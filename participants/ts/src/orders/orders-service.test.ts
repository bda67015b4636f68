import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTempParticipant, type TempParticipant } from '../testing/temp-participant.js';

let orders: TempParticipant;

beforeEach(async () => {
  orders = await startTempParticipant('orders');
});

afterEach(async () => {
  await orders.close();
});

const create = {
  sagaId: 'saga-1',
  step: 'create-order',
  action: 'create',
  payload: { userId: 'user-1', items: [{ sku: 'A', quantity: 2 }] },
};

describe('orders participant', () => {
  it('creates an order and answers {"orderId"}', async () => {
    const answer = await orders.caller.execute(create);
    expect(answer.kind).toBe('SUCCEEDED');
    if (answer.kind === 'SUCCEEDED') expect(JSON.parse(answer.output.toString())).toEqual({ orderId: 'ord-saga-1-create-order' });
    const rows = await orders.query<{ order_id: string; user_id: string; status: string; details: string }>(
      'SELECT order_id, user_id, status, details FROM orders',
    );
    expect(rows).toMatchObject([{ order_id: 'ord-saga-1-create-order', user_id: 'user-1', status: 'CREATED' }]);
    expect(JSON.parse(rows[0]?.details ?? '{}')).toEqual(create.payload);
  });

  it('uses the payload orderId and refuses a taken one with ORDER_EXISTS', async () => {
    await orders.caller.execute({ ...create, payload: { orderId: 'o-42' } });
    expect(await orders.caller.execute({ ...create, sagaId: 'saga-2', payload: { orderId: 'o-42' } })).toMatchObject({
      kind: 'FAILED',
      errorCode: 'ORDER_EXISTS',
    });
  });

  it('cancels the order once (state-based) under "cancel" or "create"', async () => {
    await orders.caller.execute(create);
    expect((await orders.caller.compensate({ ...create, action: 'cancel' })).kind).toBe('SUCCEEDED');
    expect((await orders.caller.compensate({ ...create, action: 'cancel', attempt: 2 })).kind).toBe('SUCCEEDED');
    expect(await orders.query('SELECT status FROM orders')).toEqual([{ status: 'CANCELLED' }]);

    await orders.caller.execute({ ...create, sagaId: 'saga-2' });
    expect((await orders.caller.compensate({ ...create, sagaId: 'saga-2' })).kind).toBe('SUCCEEDED');
    expect(await orders.query("SELECT status FROM orders WHERE saga_id = 'saga-2'")).toEqual([{ status: 'CANCELLED' }]);
  });

  it('creates nothing when the cancel came first (null compensation, then hanging)', async () => {
    expect((await orders.caller.compensate({ ...create, action: 'cancel' })).kind).toBe('SUCCEEDED');
    expect(await orders.caller.execute(create)).toMatchObject({ kind: 'FAILED', errorCode: 'BARRIER_REJECTED' });
    expect(await orders.query('SELECT * FROM orders')).toEqual([]);
  });

  const pay = { sagaId: 'saga-1', step: 'mark-paid', action: 'pay', payload: { paymentStep: 'charge' }, outputs: { charge: Buffer.from('{"payment_id":"pay-1"}') } };
  const ship = { sagaId: 'saga-1', step: 'ship', action: 'ship', payload: {} };

  it('moves CREATED → PAID → SHIPPED, recording every transition with time, from and to', async () => {
    const before = Date.now();
    await orders.caller.execute(create);
    expect(await orders.caller.execute(pay)).toMatchObject({ kind: 'SUCCEEDED' });
    expect(await orders.caller.execute(ship)).toMatchObject({ kind: 'SUCCEEDED' });
    expect(await orders.query('SELECT status, payment_ref FROM orders')).toEqual([{ status: 'SHIPPED', payment_ref: 'pay-1' }]);
    const transitions = await orders.query<{ from_state: string | null; to_state: string; step: string; at: number }>(
      'SELECT from_state, to_state, step, at FROM order_transitions ORDER BY seq',
    );
    expect(transitions.map((t) => [t.from_state, t.to_state, t.step])).toEqual([
      [null, 'CREATED', 'create-order'],
      ['CREATED', 'PAID', 'mark-paid'],
      ['PAID', 'SHIPPED', 'ship'],
    ]);
    for (const t of transitions) expect(t.at).toBeGreaterThanOrEqual(before);
  });

  it('refuses a transition from the wrong state with INVALID_ORDER_STATE', async () => {
    await orders.caller.execute(create);
    expect(await orders.caller.execute(ship)).toMatchObject({ kind: 'FAILED', errorCode: 'INVALID_ORDER_STATE' });
    expect(await orders.caller.execute({ ...pay, sagaId: 'saga-none' })).toMatchObject({ kind: 'FAILED', errorCode: 'ORDER_NOT_FOUND' });
  });

  it.each([
    { advance: [], from: 'CREATED', to: 'CANCELLED', path: 'cancel', returns: 0 },
    { advance: [pay], from: 'PAID', to: 'REFUNDED', path: 'refund', returns: 0 },
    { advance: [pay, ship], from: 'SHIPPED', to: 'RETURN_REQUESTED', path: 'return', returns: 1 },
  ])('compensates a $from order by $path ($to), tells the user once', async ({ advance, from, to, path, returns }) => {
    await orders.caller.execute(create);
    for (const call of advance) await orders.caller.execute(call);
    const first = await orders.caller.compensate({ ...create, action: 'cancel' });
    expect(first.kind).toBe('SUCCEEDED');
    if (first.kind === 'SUCCEEDED') expect(JSON.parse(first.output.toString())).toEqual({ orderId: 'ord-saga-1-create-order', from, status: to, path });
    await orders.caller.compensate({ ...create, action: 'cancel', attempt: 2 });
    expect(await orders.query('SELECT status FROM orders')).toEqual([{ status: to }]);
    expect(await orders.query('SELECT from_state, to_state FROM order_transitions ORDER BY seq DESC LIMIT 1')).toEqual([{ from_state: from, to_state: to }]);
    expect(await orders.query('SELECT COUNT(*) AS n FROM order_returns')).toEqual([{ n: returns }]);
    const notices = await orders.query<{ recipient: string; message: string }>('SELECT recipient, message FROM notifications');
    expect(notices).toHaveLength(1);
    expect(notices[0]).toMatchObject({ recipient: 'user-1' });
    expect(notices[0]?.message).toContain('ord-saga-1-create-order');
  });

  it('answers FAILED UNKNOWN_ORDER_STATE for a state it has no compensation for, changing nothing', async () => {
    await orders.caller.execute(create);
    await orders.participant.barrier.transaction((tx) => tx.run("UPDATE orders SET status = 'DISPUTED'"));
    const answer = await orders.caller.compensate({ ...create, action: 'cancel' });
    expect(answer).toMatchObject({ kind: 'FAILED', errorCode: 'UNKNOWN_ORDER_STATE' });
    if (answer.kind === 'FAILED') expect(answer.errorMessage).toContain('"DISPUTED"');
    expect(await orders.query('SELECT status FROM orders')).toEqual([{ status: 'DISPUTED' }]);
    expect(await orders.query('SELECT * FROM notifications')).toEqual([]);
  });
});
