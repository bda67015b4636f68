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
});
