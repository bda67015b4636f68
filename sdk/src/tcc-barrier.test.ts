import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BARRIER_REJECTED } from './barrier.js';
import { SqliteBarrier } from './sqlite-barrier.js';
import type { SqliteTx } from './sqlite-tx.js';
import { TCC_OUT_OF_ORDER } from './tcc-barrier.js';
import { TerminalError } from './terminal-error.js';

// A stock account with a frozen column, as a TCC participant keeps it: Try
// freezes, Confirm deducts the frozen amount, Cancel releases it.

let dir: string;
let barrier: SqliteBarrier;
const ctx = { sagaId: 'tx-1', step: 'stock' };
const runs = { try: 0, confirm: 0, cancel: 0 };

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sdk-tcc-barrier-'));
  barrier = new SqliteBarrier({ path: join(dir, 'participant.db'), cleanupIntervalMs: 0 });
  await barrier.start();
  await barrier.transaction(async (tx) => {
    await tx.exec('CREATE TABLE stock (sku TEXT PRIMARY KEY, available INTEGER NOT NULL, frozen INTEGER NOT NULL)');
    await tx.run("INSERT INTO stock VALUES ('A', 10, 0)");
  });
  runs.try = runs.confirm = runs.cancel = 0;
});

afterEach(async () => {
  await barrier.close();
  rmSync(dir, { recursive: true, force: true });
});

const freeze = (n: number) => async (tx: SqliteTx) => {
  runs.try += 1;
  const { changes } = await tx.run("UPDATE stock SET available = available - ?, frozen = frozen + ? WHERE sku = 'A' AND available >= ?", [n, n, n]);
  if (changes === 0) throw new TerminalError('INSUFFICIENT_STOCK', 'too little stock');
  return Buffer.from(`frozen ${n}`);
};
const deduct = (n: number) => async (tx: SqliteTx) => {
  runs.confirm += 1;
  await tx.run("UPDATE stock SET frozen = frozen - ? WHERE sku = 'A'", [n]);
};
const release = (n: number) => async (tx: SqliteTx) => {
  runs.cancel += 1;
  await tx.run("UPDATE stock SET available = available + ?, frozen = frozen - ? WHERE sku = 'A'", [n, n]);
};

async function stock(): Promise<{ available: number; frozen: number }> {
  const row = await barrier.transaction((tx) => tx.get<{ available: number; frozen: number }>("SELECT available, frozen FROM stock WHERE sku = 'A'"));
  return row!;
}

async function ops(): Promise<Record<string, string>> {
  const rows = await barrier.transaction((tx) => tx.all<{ op: string; outcome: string }>('SELECT op, outcome FROM saga_barrier WHERE saga_id = ?', [ctx.sagaId]));
  return Object.fromEntries(rows.map((r) => [r.op, r.outcome]));
}

describe('TccBarrier (SQLite)', () => {
  it('try freezes, confirm deducts the frozen amount; duplicates answer the stored result', async () => {
    expect((await barrier.try(ctx, freeze(3)))?.toString()).toBe('frozen 3');
    expect((await barrier.try(ctx, freeze(3)))?.toString()).toBe('frozen 3');
    expect(await stock()).toEqual({ available: 7, frozen: 3 });
    await barrier.confirm(ctx, deduct(3));
    await barrier.confirm(ctx, deduct(3));
    expect(await stock()).toEqual({ available: 7, frozen: 0 });
    expect(runs).toEqual({ try: 1, confirm: 1, cancel: 0 });
    expect(await ops()).toEqual({ try: 'SUCCEEDED', confirm: 'SUCCEEDED' });
  });

  it('cancel releases the freeze once, however often it is sent', async () => {
    await barrier.try(ctx, freeze(4));
    await barrier.cancel(ctx, release(4));
    await barrier.cancel(ctx, release(4));
    expect(await stock()).toEqual({ available: 10, frozen: 0 });
    expect(runs.cancel).toBe(1);
  });

  it('a cancel whose try never arrived succeeds without effect, and the late try is refused (hanging)', async () => {
    expect(await barrier.cancel(ctx, release(4))).toBeUndefined();
    await expect(barrier.try(ctx, freeze(4))).rejects.toMatchObject({ code: BARRIER_REJECTED });
    expect(await stock()).toEqual({ available: 10, frozen: 0 });
    expect(runs).toEqual({ try: 0, confirm: 0, cancel: 0 });
    expect(await ops()).toEqual({ try: 'REJECTED', cancel: 'NULL_COMPENSATION' });
  });

  it('a failed try leaves nothing frozen and its cancel is a null cancel', async () => {
    await expect(barrier.try(ctx, freeze(50))).rejects.toMatchObject({ code: 'INSUFFICIENT_STOCK' });
    await expect(barrier.try(ctx, freeze(50))).rejects.toMatchObject({ code: 'INSUFFICIENT_STOCK' });
    expect(await barrier.cancel(ctx, release(50))).toBeUndefined();
    expect(await stock()).toEqual({ available: 10, frozen: 0 });
    expect(runs).toEqual({ try: 1, confirm: 0, cancel: 0 });
  });

  it('a transient error inside try commits nothing, so the retry applies once', async () => {
    await expect(
      barrier.try(ctx, async (tx) => {
        await freeze(2)(tx);
        throw new Error('connection reset');
      }),
    ).rejects.toThrow('connection reset');
    expect(await stock()).toEqual({ available: 10, frozen: 0 });
    await barrier.try(ctx, freeze(2));
    expect(await stock()).toEqual({ available: 8, frozen: 2 });
  });

  it('refuses, and records, a confirm without a successful try and a cancel after confirm', async () => {
    await expect(barrier.confirm(ctx, deduct(1))).rejects.toMatchObject({ code: TCC_OUT_OF_ORDER });
    await expect(barrier.confirm(ctx, deduct(1))).rejects.toMatchObject({ code: TCC_OUT_OF_ORDER });
    const other = { sagaId: 'tx-2', step: 'stock' };
    await barrier.try(other, freeze(1));
    await barrier.confirm(other, deduct(1));
    await expect(barrier.cancel(other, release(1))).rejects.toMatchObject({ code: TCC_OUT_OF_ORDER });
    expect(await stock()).toEqual({ available: 9, frozen: 0 });
    expect(runs).toEqual({ try: 1, confirm: 1, cancel: 0 });
  });
});
