// Compensation epochs at the barrier: a compensation stored as FAILED answers
// the calls of its own epoch only; after a RetrySaga (a later epoch) it runs
// again, once. A compensation that succeeded never runs again.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SqliteBarrier } from './sqlite-barrier.js';
import { SqliteConnection } from './sqlite-connection.js';
import type { SqliteTx } from './sqlite-tx.js';
import { TerminalError } from './terminal-error.js';

let dir: string;
let barrier: SqliteBarrier | undefined;
const key = { sagaId: 'saga-1', step: 'deduct' };
const at = (compensationEpoch: number) => ({ ...key, compensationEpoch });

async function open(): Promise<SqliteBarrier> {
  const opened = new SqliteBarrier({ path: join(dir, 'participant.db'), cleanupIntervalMs: 0 });
  await opened.start();
  barrier = opened;
  return opened;
}

async function stock(b: SqliteBarrier): Promise<number> {
  const row = await b.transaction((tx) => tx.get<{ value: number }>("SELECT value FROM counter WHERE name = 'stock'"));
  return row?.value ?? Number.NaN;
}

async function compensateRow(b: SqliteBarrier): Promise<{ outcome: string; compensation_epoch: number } | undefined> {
  return b.transaction((tx) =>
    tx.get<{ outcome: string; compensation_epoch: number }>("SELECT outcome, compensation_epoch FROM saga_barrier WHERE op = 'compensate'"),
  );
}

function adjust(delta: number, runs: { count: number }) {
  return async (tx: SqliteTx): Promise<Buffer> => {
    runs.count += 1;
    await tx.run("UPDATE counter SET value = value + ? WHERE name = 'stock'", [delta]);
    return Buffer.from(`delta ${delta}`);
  };
}

function cannotRestore(runs: { count: number }) {
  return (): Promise<void> => {
    runs.count += 1;
    return Promise.reject(new TerminalError('CANNOT_RESTORE', 'warehouse closed'));
  };
}

const mustNotRun = (): Promise<void> => Promise.reject(new Error('the barrier ran a business change it should have answered from storage'));

async function failureCode(p: Promise<unknown>): Promise<string> {
  return p.then(
    () => 'SUCCEEDED',
    (err: unknown) => {
      if (err instanceof TerminalError) return err.code;
      throw err;
    },
  );
}

async function withCounter(b: SqliteBarrier): Promise<void> {
  await b.transaction(async (tx) => {
    await tx.exec('CREATE TABLE IF NOT EXISTS counter (name TEXT PRIMARY KEY, value INTEGER NOT NULL)');
    await tx.run("INSERT OR IGNORE INTO counter VALUES ('stock', 10)");
  });
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'sdk-barrier-epoch-'));
});

afterEach(async () => {
  await barrier?.close();
  barrier = undefined;
  rmSync(dir, { recursive: true, force: true });
});

describe('SqliteBarrier compensation epochs', () => {
  it('runs a compensation that FAILED again at a later epoch, once, and answers duplicates of each epoch from storage', async () => {
    const b = await open();
    await withCounter(b);
    const runs = { count: 0 };
    await b.execute(key, adjust(-2, runs));
    const failed = { count: 0 };
    expect(await failureCode(b.compensate(at(0), cannotRestore(failed)))).toBe('CANNOT_RESTORE');
    expect(await failureCode(b.compensate(at(0), mustNotRun))).toBe('CANNOT_RESTORE');

    expect((await b.compensate(at(1), adjust(2, runs)))?.toString()).toBe('delta 2');
    expect(await compensateRow(b)).toEqual({ outcome: 'SUCCEEDED', compensation_epoch: 1 });
    // A duplicate of epoch 1, a late call of epoch 0, a later epoch: the stored success, no second effect.
    for (const epoch of [1, 0, 2]) expect((await b.compensate(at(epoch), mustNotRun))?.toString()).toBe('delta 2');
    expect(await stock(b)).toBe(10);
    expect(failed.count).toBe(1);
    expect(runs.count).toBe(2);
  });

  it('never runs a compensation that succeeded again, whatever the epoch', async () => {
    const b = await open();
    await withCounter(b);
    const runs = { count: 0 };
    await b.execute(key, adjust(-2, runs));
    await b.compensate(at(0), adjust(2, runs));
    expect((await b.compensate(at(1), mustNotRun))?.toString()).toBe('delta 2');
    expect(await stock(b)).toBe(10);
  });

  it('keeps the stored failure when the run at the new epoch fails transiently, and runs it on the next attempt', async () => {
    const b = await open();
    await withCounter(b);
    const runs = { count: 0 };
    await b.execute(key, adjust(-2, runs));
    await failureCode(b.compensate(at(0), cannotRestore(runs)));
    const transient = async (tx: SqliteTx): Promise<void> => {
      await tx.run("UPDATE counter SET value = value + 2 WHERE name = 'stock'");
      throw new Error('warehouse system unreachable');
    };
    await expect(b.compensate(at(1), transient)).rejects.toThrow('warehouse system unreachable');
    expect(await compensateRow(b)).toEqual({ outcome: 'FAILED', compensation_epoch: 0 });
    expect(await stock(b)).toBe(8);
    await b.compensate(at(1), adjust(2, runs));
    expect(await stock(b)).toBe(10);
  });

  it('refuses an epoch that is not a whole number >= 0', async () => {
    const b = await open();
    await expect(b.compensate(at(-1), mustNotRun)).rejects.toThrow(/compensationEpoch/);
    await expect(b.compensate(at(1.5), mustNotRun)).rejects.toThrow(/compensationEpoch/);
  });

  it('migrates a barrier table created without compensation_epoch: old rows are epoch 0', async () => {
    const path = join(dir, 'participant.db');
    const old = await SqliteConnection.open(path, 1000);
    await old.transaction((tx) =>
      tx.exec(`
        CREATE TABLE saga_barrier (
          saga_id TEXT NOT NULL, step TEXT NOT NULL, op TEXT NOT NULL, outcome TEXT NOT NULL, output BLOB,
          error_code TEXT NOT NULL DEFAULT '', error_message TEXT NOT NULL DEFAULT '', created_at INTEGER NOT NULL,
          PRIMARY KEY (saga_id, step, op));
        CREATE TABLE counter (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
        INSERT INTO counter VALUES ('stock', 8);
        INSERT INTO saga_barrier VALUES ('saga-1', 'deduct', 'execute', 'SUCCEEDED', NULL, '', '', 1);
        INSERT INTO saga_barrier VALUES ('saga-1', 'deduct', 'compensate', 'FAILED', NULL, 'CANNOT_RESTORE', 'warehouse closed', 1);`),
    );
    await old.close();

    const b = await open();
    expect(await compensateRow(b)).toEqual({ outcome: 'FAILED', compensation_epoch: 0 });
    expect(await failureCode(b.compensate(at(0), mustNotRun))).toBe('CANNOT_RESTORE');
    await b.compensate(at(1), adjust(2, { count: 0 }));
    expect(await stock(b)).toBe(10);
    // Opening it again finds the column there.
    await b.close();
    expect(await compensateRow(await open())).toEqual({ outcome: 'SUCCEEDED', compensation_epoch: 1 });
  });
});
