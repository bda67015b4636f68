import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTempParticipant, type TempParticipant } from '../testing/temp-participant.js';

let points: TempParticipant;

beforeEach(async () => {
  points = await startTempParticipant('points', { points: { 'user-1': 100 } });
});

afterEach(async () => {
  await points.close();
});

async function balance(userId: string): Promise<number | undefined> {
  const [row] = await points.query<{ points: number }>('SELECT points FROM accounts WHERE user_id = ?', [userId]);
  return row?.points;
}

const deduct = { sagaId: 'saga-1', step: 'deduct-points', action: 'deduct', payload: { userId: 'user-1', points: 30 } };

describe('points participant', () => {
  it('deducts points and answers the remaining balance', async () => {
    const answer = await points.caller.execute(deduct);
    expect(answer.kind).toBe('SUCCEEDED');
    if (answer.kind === 'SUCCEEDED') {
      expect(JSON.parse(answer.output.toString())).toEqual({ userId: 'user-1', points: 30, remaining: 70 });
    }
    expect(await balance('user-1')).toBe(70);
  });

  it('answers INSUFFICIENT_POINTS when the account has too few points or does not exist', async () => {
    expect(await points.caller.execute({ ...deduct, payload: { userId: 'user-1', points: 101 } })).toMatchObject({
      kind: 'FAILED',
      errorCode: 'INSUFFICIENT_POINTS',
    });
    expect(await points.caller.execute({ ...deduct, sagaId: 'saga-2', payload: { userId: 'nobody', points: 1 } })).toMatchObject({
      kind: 'FAILED',
      errorCode: 'INSUFFICIENT_POINTS',
    });
    expect(await balance('user-1')).toBe(100);
  });

  it('restores deducted points exactly once', async () => {
    await points.caller.execute(deduct);
    expect((await points.caller.compensate({ ...deduct, action: 'restore' })).kind).toBe('SUCCEEDED');
    expect((await points.caller.compensate({ ...deduct, action: 'restore', attempt: 2 })).kind).toBe('SUCCEEDED');
    expect(await balance('user-1')).toBe(100);
  });

  it('null-compensates after a business failure', async () => {
    await points.caller.execute({ ...deduct, payload: { userId: 'user-1', points: 500 } });
    expect((await points.caller.compensate({ ...deduct, action: 'restore' })).kind).toBe('SUCCEEDED');
    expect(await balance('user-1')).toBe(100);
    expect(await points.query("SELECT op, outcome FROM saga_barrier ORDER BY op")).toEqual([
      { op: 'compensate', outcome: 'NULL_COMPENSATION' },
      { op: 'execute', outcome: 'FAILED' },
    ]);
  });
});
