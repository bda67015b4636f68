// Compensation epochs at the TCC barrier: a Confirm or Cancel stored as
// FAILED answers the calls of its own (or an older) epoch only; after a
// RetrySaga (a later epoch) it runs again, once, and its result replaces the
// row. One that succeeded never runs again; Try ignores the epoch.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SqliteBarrier } from './sqlite-barrier.js';
import type { SqliteTx } from './sqlite-tx.js';
import { TerminalError } from './terminal-error.js';

let dir: string;
let barrier: SqliteBarrier;
const key = { sagaId: 'tx-1', step: 'stock' };
const at = (compensationEpoch: number) => ({ ...key, compensationEpoch });
const runs = { confirm: 0, cancel: 0 };

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sdk-tcc-barrier-epoch-'));
  barrier = new SqliteBarrier({ path: join(dir, 'participant.db'), cleanupIntervalMs: 0 });
  await barrier.start();
  await barrier.transaction(async (tx) => {
    await tx.exec('CREATE TABLE stock (sku TEXT PRIMARY KEY, available INTEGER NOT NULL, frozen INTEGER NOT NULL)');
    await tx.run("INSERT INTO stock VALUES ('A', 10, 0)");
  });
  runs.confirm = runs.cancel = 0;
});

afterEach(async () => {
  await barrier.close();
  rmSync(dir, { recursive: true, force: true });
});

const freeze = async (tx: SqliteTx): Promise<void> => {
  await tx.run("UPDATE stock SET available = available - 3, frozen = frozen + 3 WHERE sku = 'A'");
};
const deduct = async (tx: SqliteTx): Promise<Buffer> => {
  runs.confirm += 1;
  await tx.run("UPDATE stock SET frozen = frozen - 3 WHERE sku = 'A'");
  return Buffer.from('deducted');
};
const release = async (tx: SqliteTx): Promise<Buffer> => {
  runs.cancel += 1;
  await tx.run("UPDATE stock SET available = available + 3, frozen = frozen - 3 WHERE sku = 'A'");
  return Buffer.from('released');
};
const refused = (code: string) => (): Promise<void> => Promise.reject(new TerminalError(code, 'ledger closed'));
const mustNotRun = (): Promise<void> => Promise.reject(new Error('the barrier ran a business change it should have answered from storage'));

async function stock(): Promise<{ available: number; frozen: number }> {
  const row = await barrier.transaction((tx) => tx.get<{ available: number; frozen: number }>("SELECT available, frozen FROM stock WHERE sku = 'A'"));
  return row!;
}

async function row(op: string): Promise<{ outcome: string; compensation_epoch: number } | undefined> {
  return barrier.transaction((tx) =>
    tx.get<{ outcome: string; compensation_epoch: number }>('SELECT outcome, compensation_epoch FROM saga_barrier WHERE saga_id = ? AND op = ?', [key.sagaId, op]),
  );
}

describe('TccBarrier compensation epochs', () => {
  it('runs a Confirm that FAILED again at a later epoch, once; duplicates of each epoch answer from storage', async () => {
    await barrier.try(key, freeze);
    await expect(barrier.confirm(at(0), refused('LEDGER_CLOSED'))).rejects.toMatchObject({ code: 'LEDGER_CLOSED' });
    await expect(barrier.confirm(at(0), mustNotRun)).rejects.toMatchObject({ code: 'LEDGER_CLOSED' });
    expect(await row('confirm')).toEqual({ outcome: 'FAILED', compensation_epoch: 0 });

    expect((await barrier.confirm(at(1), deduct))?.toString()).toBe('deducted');
    expect(await row('confirm')).toEqual({ outcome: 'SUCCEEDED', compensation_epoch: 1 });
    // A duplicate of epoch 1, a late call of epoch 0, a later epoch: the stored success, no second deduction.
    for (const epoch of [1, 0, 2]) expect((await barrier.confirm(at(epoch), mustNotRun))?.toString()).toBe('deducted');
    expect(await stock()).toEqual({ available: 7, frozen: 0 });
    expect(runs.confirm).toBe(1);
  });

  it('runs a Cancel that FAILED again at a later epoch, once', async () => {
    await barrier.try(key, freeze);
    await expect(barrier.cancel(at(0), refused('LEDGER_CLOSED'))).rejects.toMatchObject({ code: 'LEDGER_CLOSED' });
    await expect(barrier.cancel(at(0), mustNotRun)).rejects.toMatchObject({ code: 'LEDGER_CLOSED' });

    expect((await barrier.cancel(at(1), release))?.toString()).toBe('released');
    expect(await row('cancel')).toEqual({ outcome: 'SUCCEEDED', compensation_epoch: 1 });
    for (const epoch of [1, 2]) expect((await barrier.cancel(at(epoch), mustNotRun))?.toString()).toBe('released');
    expect(await stock()).toEqual({ available: 10, frozen: 0 });
    expect(runs.cancel).toBe(1);
  });

  it('a FAILED result stored at a later epoch answers an older one', async () => {
    await barrier.try(key, freeze);
    await expect(barrier.confirm(at(2), refused('LEDGER_CLOSED'))).rejects.toMatchObject({ code: 'LEDGER_CLOSED' });
    await expect(barrier.confirm(at(1), mustNotRun)).rejects.toMatchObject({ code: 'LEDGER_CLOSED' });
    expect(await row('confirm')).toEqual({ outcome: 'FAILED', compensation_epoch: 2 });
  });

  it('never runs a Confirm or Cancel that succeeded again, nor a null cancel', async () => {
    await barrier.try(key, freeze);
    await barrier.confirm(at(0), deduct);
    expect((await barrier.confirm(at(1), mustNotRun))?.toString()).toBe('deducted');

    const other = { sagaId: 'tx-2', step: 'stock' };
    expect(await barrier.cancel({ ...other, compensationEpoch: 0 }, mustNotRun)).toBeUndefined();
    expect(await barrier.cancel({ ...other, compensationEpoch: 1 }, mustNotRun)).toBeUndefined();
    expect(await stock()).toEqual({ available: 7, frozen: 0 });
    expect(runs.confirm).toBe(1);
  });

  it('keeps the stored failure when the run at the new epoch fails transiently', async () => {
    await barrier.try(key, freeze);
    await expect(barrier.confirm(at(0), refused('LEDGER_CLOSED'))).rejects.toMatchObject({ code: 'LEDGER_CLOSED' });
    const transient = async (tx: SqliteTx): Promise<void> => {
      await deduct(tx);
      throw new Error('ledger unreachable');
    };
    await expect(barrier.confirm(at(1), transient)).rejects.toThrow('ledger unreachable');
    expect(await row('confirm')).toEqual({ outcome: 'FAILED', compensation_epoch: 0 });
    expect(await stock()).toEqual({ available: 7, frozen: 3 });
    await barrier.confirm(at(1), deduct);
    expect(await stock()).toEqual({ available: 7, frozen: 0 });
  });

  it('refuses an epoch that is not a whole number >= 0', async () => {
    await expect(barrier.confirm(at(-1), mustNotRun)).rejects.toThrow(/compensationEpoch/);
    await expect(barrier.cancel(at(0.5), mustNotRun)).rejects.toThrow(/compensationEpoch/);
  });
});
