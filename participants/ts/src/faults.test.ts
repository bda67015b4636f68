import { status } from '@grpc/grpc-js';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseFaults, planFaults } from './faults.js';
import { startTempParticipant, type TempParticipant } from './testing/temp-participant.js';

describe('parseFaults / planFaults', () => {
  it('parses name[=arg][@N] lists', () => {
    expect(parseFaults('error@2, fail ,sleep-before=1500@1,error-while-file=/tmp/a@b/x,sleep-after=10')).toEqual([
      { name: 'error', arg: undefined, upToAttempt: 2 },
      { name: 'fail', arg: undefined, upToAttempt: undefined },
      { name: 'sleep-before', arg: '1500', upToAttempt: 1 },
      { name: 'error-while-file', arg: '/tmp/a@b/x', upToAttempt: undefined },
      { name: 'sleep-after', arg: '10', upToAttempt: undefined },
    ]);
    expect(parseFaults('')).toEqual([]);
  });

  it('refuses malformed directives loudly', () => {
    expect(() => parseFaults('explode')).toThrow(/unknown directive/);
    expect(() => parseFaults('sleep-before')).toThrow(/needs "=value"/);
    expect(() => parseFaults('sleep-after=soon')).toThrow(/whole number/);
    expect(() => parseFaults('error=1')).toThrow(/takes no value/);
    expect(() => parseFaults('error@0')).toThrow(/N >= 1/);
  });

  it('applies @N to attempts 1..N only', () => {
    const directives = parseFaults('error@2,sleep-after=5');
    expect(planFaults(directives, 1)).toMatchObject({ error: true, sleepAfterMs: 5 });
    expect(planFaults(directives, 2)).toMatchObject({ error: true });
    expect(planFaults(directives, 3)).toMatchObject({ error: false, sleepAfterMs: 5 });
  });
});

describe('fault switches on a participant', () => {
  let stock: TempParticipant;
  const deduct = { sagaId: 'saga-1', step: 'deduct-stock', action: 'deduct', payload: { sku: 'A', quantity: 2 } };
  const withFault = (value: string, attempt = 1, key = 'fault.execute') => ({ ...deduct, attempt, metadata: { [key]: value } });

  beforeEach(async () => {
    stock = await startTempParticipant('stock', { stock: { A: 10 } });
  });

  afterEach(async () => {
    await stock.close();
  });

  async function quantity(): Promise<number | undefined> {
    const [row] = await stock.query<{ quantity: number }>("SELECT quantity FROM stock WHERE sku = 'A'");
    return row?.quantity;
  }

  const barrierRows = (): Promise<unknown[]> => stock.query('SELECT op, outcome, error_code FROM saga_barrier ORDER BY op');

  it('error@2 fails attempts 1 and 2 transiently (UNAVAILABLE, nothing recorded), then succeeds', async () => {
    expect(await stock.caller.execute(withFault('error@2', 1))).toMatchObject({ kind: 'GRPC_ERROR', code: status.UNAVAILABLE });
    expect(await stock.caller.execute(withFault('error@2', 2))).toMatchObject({ kind: 'GRPC_ERROR', code: status.UNAVAILABLE });
    expect(await barrierRows()).toEqual([]);
    expect((await stock.caller.execute(withFault('error@2', 3))).kind).toBe('SUCCEEDED');
    expect(await quantity()).toBe(8);
  });

  it('error-while-file answers UNAVAILABLE while the file exists', async () => {
    const flag = join(stock.dir, 'down');
    writeFileSync(flag, '');
    expect(await stock.caller.execute(withFault(`error-while-file=${flag}`))).toMatchObject({ kind: 'GRPC_ERROR', code: status.UNAVAILABLE });
    rmSync(flag);
    expect((await stock.caller.execute(withFault(`error-while-file=${flag}`, 2))).kind).toBe('SUCCEEDED');
  });

  it('fail answers INJECTED_FAILURE, recorded by the barrier, with no effect', async () => {
    expect(await stock.caller.execute(withFault('fail'))).toMatchObject({ kind: 'FAILED', errorCode: 'INJECTED_FAILURE' });
    expect(await quantity()).toBe(10);
    expect(await barrierRows()).toEqual([{ op: 'execute', outcome: 'FAILED', error_code: 'INJECTED_FAILURE' }]);
  });

  it('fault.compensate applies to Compensate only', async () => {
    const metadata = { 'fault.compensate': 'error@1' };
    expect((await stock.caller.execute({ ...deduct, metadata })).kind).toBe('SUCCEEDED');
    expect(await stock.caller.compensate({ ...deduct, action: 'restore', metadata })).toMatchObject({
      kind: 'GRPC_ERROR',
      code: status.UNAVAILABLE,
    });
    expect((await stock.caller.compensate({ ...deduct, action: 'restore', metadata, attempt: 2 })).kind).toBe('SUCCEEDED');
    expect(await quantity()).toBe(10);
  });

  it('sleep-before ignores the cancellation: the effect lands after the caller gave up', async () => {
    expect(await stock.caller.execute({ ...withFault('sleep-before=300@1'), timeoutMs: 100 })).toMatchObject({
      kind: 'GRPC_ERROR',
      code: status.DEADLINE_EXCEEDED,
    });
    expect(await quantity()).toBe(10);
    await expect.poll(quantity, { timeout: 5_000, interval: 50 }).toBe(8);
  });

  it('sleep-before then compensate: null compensation, and the late execute is refused (hanging)', async () => {
    expect(await stock.caller.execute({ ...withFault('sleep-before=600@1'), timeoutMs: 100 })).toMatchObject({
      kind: 'GRPC_ERROR',
      code: status.DEADLINE_EXCEEDED,
    });
    expect((await stock.caller.compensate({ ...deduct, action: 'restore' })).kind).toBe('SUCCEEDED');
    // Let the late execute arrive at the barrier (600 ms after it was sent).
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(await quantity()).toBe(10);
    expect(await barrierRows()).toEqual([
      { op: 'compensate', outcome: 'NULL_COMPENSATION', error_code: '' },
      { op: 'execute', outcome: 'REJECTED', error_code: 'BARRIER_REJECTED' },
    ]);
  });

  it('sleep-after commits the effect, then loses the answer; the retry gets the stored result', async () => {
    expect(await stock.caller.execute({ ...withFault('sleep-after=300@1'), timeoutMs: 100 })).toMatchObject({
      kind: 'GRPC_ERROR',
      code: status.DEADLINE_EXCEEDED,
    });
    expect(await quantity()).toBe(8);
    const retried = await stock.caller.execute(withFault('sleep-after=300@1', 2));
    expect(retried.kind).toBe('SUCCEEDED');
    if (retried.kind === 'SUCCEEDED') expect(JSON.parse(retried.output.toString())).toMatchObject({ remaining: 8 });
    expect(await quantity()).toBe(8);
  });

  it('answers INVALID_FAULT_DIRECTIVE for a malformed directive', async () => {
    expect(await stock.caller.execute(withFault('explode'))).toMatchObject({ kind: 'FAILED', errorCode: 'INVALID_FAULT_DIRECTIVE' });
  });
});
