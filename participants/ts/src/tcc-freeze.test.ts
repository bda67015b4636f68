import { afterEach, describe, expect, it } from 'vitest';
import { startTempParticipant, type TempParticipant } from './testing/temp-participant.js';

// The order domain's TCC example on the real participants: stock "reserve" and
// points "freeze" freeze in Try, deduct in Confirm, release in Cancel, with the
// freeze visible in each service's own tables.

let p: TempParticipant | undefined;

afterEach(async () => {
  await p?.close();
  p = undefined;
});

const stockCall = { sagaId: 'tx-1', step: 'stock', action: 'reserve', payload: { sku: 'A', quantity: 3 } };
const pointsCall = { sagaId: 'tx-1', step: 'points', action: 'freeze', payload: { userId: 'user-1', points: 30 } };

describe('TCC example: stock reserve and points freeze', () => {
  it('stock: try freezes (quantity → frozen, a FROZEN row), confirm deducts it, duplicates change nothing', async () => {
    p = await startTempParticipant('stock', { stock: { A: 10 } });
    expect(await p.caller.tcc('try', stockCall)).toMatchObject({ kind: 'SUCCEEDED' });
    await p.caller.tcc('try', { ...stockCall, attempt: 2 });
    expect(await p.query('SELECT quantity, frozen FROM stock')).toEqual([{ quantity: 7, frozen: 3 }]);
    expect(await p.query('SELECT sku, quantity, status FROM stock_freezes')).toEqual([{ sku: 'A', quantity: 3, status: 'FROZEN' }]);
    expect(await p.caller.tcc('confirm', stockCall)).toMatchObject({ kind: 'SUCCEEDED' });
    await p.caller.tcc('confirm', { ...stockCall, attempt: 2 });
    expect(await p.query('SELECT quantity, frozen FROM stock')).toEqual([{ quantity: 7, frozen: 0 }]);
    expect(await p.query('SELECT status FROM stock_freezes')).toEqual([{ status: 'DEDUCTED' }]);
  });

  it('points: cancel releases the freeze once; too few points is INSUFFICIENT_POINTS with nothing frozen', async () => {
    p = await startTempParticipant('points', { points: { 'user-1': 100 } });
    await p.caller.tcc('try', pointsCall);
    expect(await p.query('SELECT points, frozen FROM accounts')).toEqual([{ points: 70, frozen: 30 }]);
    await p.caller.tcc('cancel', pointsCall);
    await p.caller.tcc('cancel', { ...pointsCall, attempt: 2 });
    expect(await p.query('SELECT points, frozen FROM accounts')).toEqual([{ points: 100, frozen: 0 }]);
    expect(await p.query('SELECT status FROM points_freezes')).toEqual([{ status: 'RELEASED' }]);
    const tooMany = { ...pointsCall, sagaId: 'tx-2', payload: { userId: 'user-1', points: 500 } };
    expect(await p.caller.tcc('try', tooMany)).toMatchObject({ kind: 'FAILED', errorCode: 'INSUFFICIENT_POINTS' });
    expect(await p.caller.tcc('cancel', tooMany)).toMatchObject({ kind: 'SUCCEEDED' });
    expect(await p.query('SELECT points, frozen FROM accounts')).toEqual([{ points: 100, frozen: 0 }]);
  });

  it('a cancel before its try succeeds without effect and the late try is refused (hanging)', async () => {
    p = await startTempParticipant('stock', { stock: { A: 10 } });
    expect(await p.caller.tcc('cancel', stockCall)).toMatchObject({ kind: 'SUCCEEDED' });
    expect(await p.caller.tcc('try', stockCall)).toMatchObject({ kind: 'FAILED', errorCode: 'BARRIER_REJECTED' });
    expect(await p.query('SELECT quantity, frozen FROM stock')).toEqual([{ quantity: 10, frozen: 0 }]);
    expect(await p.query('SELECT * FROM stock_freezes')).toEqual([]);
  });

  it('a lost try answer (fault sleep-after) is answered from the barrier on retry: frozen once', async () => {
    p = await startTempParticipant('stock', { stock: { A: 10 } });
    const lost = await p.caller.tcc('try', { ...stockCall, metadata: { 'fault.try': 'sleep-after=1500@1' }, timeoutMs: 300 });
    expect(lost.kind).toBe('GRPC_ERROR');
    expect(await p.caller.tcc('try', { ...stockCall, attempt: 2, metadata: { 'fault.try': 'sleep-after=1500@1' } })).toMatchObject({ kind: 'SUCCEEDED' });
    expect(await p.query('SELECT quantity, frozen FROM stock')).toEqual([{ quantity: 7, frozen: 3 }]);
  });
});
