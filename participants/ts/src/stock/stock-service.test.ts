import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTempParticipant, type TempParticipant } from '../testing/temp-participant.js';

let stock: TempParticipant;

beforeEach(async () => {
  stock = await startTempParticipant('stock', { stock: { A: 10 } });
});

afterEach(async () => {
  await stock.close();
});

async function quantity(sku: string): Promise<number | undefined> {
  const [row] = await stock.query<{ quantity: number }>('SELECT quantity FROM stock WHERE sku = ?', [sku]);
  return row?.quantity;
}

const deduct = { sagaId: 'saga-1', step: 'deduct-stock', action: 'deduct', payload: { sku: 'A', quantity: 2 } };

describe('stock participant', () => {
  it('deducts and answers {"sku","quantity","remaining"}', async () => {
    const answer = await stock.caller.execute(deduct);
    expect(answer.kind).toBe('SUCCEEDED');
    if (answer.kind === 'SUCCEEDED') expect(JSON.parse(answer.output.toString())).toEqual({ sku: 'A', quantity: 2, remaining: 8 });
    expect(await quantity('A')).toBe(8);
    expect(await stock.query('SELECT saga_id, step, sku, delta FROM stock_movements')).toEqual([
      { saga_id: 'saga-1', step: 'deduct-stock', sku: 'A', delta: -2 },
    ]);
  });

  it('answers INSUFFICIENT_STOCK for too little stock or an unknown sku, without effect', async () => {
    expect(await stock.caller.execute({ ...deduct, payload: { sku: 'A', quantity: 11 } })).toMatchObject({
      kind: 'FAILED',
      errorCode: 'INSUFFICIENT_STOCK',
    });
    expect(await stock.caller.execute({ ...deduct, sagaId: 'saga-2', payload: { sku: 'Z', quantity: 1 } })).toMatchObject({
      kind: 'FAILED',
      errorCode: 'INSUFFICIENT_STOCK',
    });
    expect(await quantity('A')).toBe(10);
  });

  it('answers INVALID_PAYLOAD for a malformed payload', async () => {
    expect(await stock.caller.execute({ ...deduct, payload: { sku: 'A', quantity: 0 } })).toMatchObject({
      kind: 'FAILED',
      errorCode: 'INVALID_PAYLOAD',
    });
    expect(await stock.caller.execute({ ...deduct, sagaId: 's-3', payload: 'not json' })).toMatchObject({
      kind: 'FAILED',
      errorCode: 'INVALID_PAYLOAD',
    });
  });

  it('deducts once for duplicate calls', async () => {
    await stock.caller.execute(deduct);
    const again = await stock.caller.execute({ ...deduct, attempt: 2 });
    expect(again.kind).toBe('SUCCEEDED');
    expect(await quantity('A')).toBe(8);
  });

  it('restores what the deduct took, once, under "restore" or under "deduct"', async () => {
    await stock.caller.execute(deduct);
    const restored = await stock.caller.compensate({ ...deduct, action: 'restore' });
    expect(restored.kind).toBe('SUCCEEDED');
    if (restored.kind === 'SUCCEEDED') expect(JSON.parse(restored.output.toString())).toEqual({ sku: 'A', quantity: 2, remaining: 10 });
    await stock.caller.compensate({ ...deduct, action: 'restore', attempt: 2 });
    expect(await quantity('A')).toBe(10);
    expect(await stock.query('SELECT delta FROM stock_movements ORDER BY rowid')).toEqual([{ delta: -2 }, { delta: 2 }]);

    await stock.caller.execute({ ...deduct, sagaId: 'saga-2' });
    await stock.caller.compensate({ ...deduct, sagaId: 'saga-2', action: 'deduct' });
    expect(await quantity('A')).toBe(10);
  });

  it('null-compensates a deduct that never ran, then refuses it (hanging)', async () => {
    expect((await stock.caller.compensate({ ...deduct, action: 'restore' })).kind).toBe('SUCCEEDED');
    expect(await stock.caller.execute(deduct)).toMatchObject({ kind: 'FAILED', errorCode: 'BARRIER_REJECTED' });
    expect(await quantity('A')).toBe(10);
  });
});
