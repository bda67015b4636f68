import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BARRIER_REJECTED } from './barrier.js';
import { SqliteBarrier } from './sqlite-barrier.js';
import type { SqliteTx } from './sqlite-tx.js';
import { TerminalError } from './terminal-error.js';

interface Row {
  saga_id: string;
  step: string;
  op: string;
  outcome: string;
  output: Buffer | null;
  error_code: string;
  error_message: string;
}

let dir: string;
let barrier: SqliteBarrier;
const ctx = { sagaId: 'saga-1', step: 'deduct' };

async function openBarrier(): Promise<SqliteBarrier> {
  const opened = new SqliteBarrier({ path: join(dir, 'participant.db'), cleanupIntervalMs: 0 });
  await opened.start();
  return opened;
}

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sdk-barrier-'));
  barrier = await openBarrier();
  await barrier.transaction(async (tx) => {
    await tx.exec('CREATE TABLE counter (name TEXT PRIMARY KEY, value INTEGER NOT NULL)');
    await tx.run("INSERT INTO counter VALUES ('stock', 10)");
  });
});

afterEach(async () => {
  await barrier.close();
  rmSync(dir, { recursive: true, force: true });
});

async function stock(): Promise<number> {
  const row = await barrier.transaction((tx) => tx.get<{ value: number }>("SELECT value FROM counter WHERE name = 'stock'"));
  return row?.value ?? Number.NaN;
}

async function rows(): Promise<Row[]> {
  return barrier.transaction((tx) => tx.all<Row>('SELECT * FROM saga_barrier ORDER BY op'));
}

/** A business change that counts its runs. */
function adjust(delta: number, runs: { count: number }) {
  return async (tx: SqliteTx): Promise<Buffer> => {
    runs.count += 1;
    await tx.run("UPDATE counter SET value = value + ? WHERE name = 'stock'", [delta]);
    return Buffer.from(`delta ${delta}`);
  };
}

async function terminal(promise: Promise<unknown>): Promise<TerminalError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof TerminalError) return err;
    throw err;
  }
  throw new Error('expected a TerminalError');
}

describe('SqliteBarrier', () => {
  it('commits the business change and the execute row together', async () => {
    const runs = { count: 0 };
    const output = await barrier.execute(ctx, adjust(-2, runs));
    expect(output?.toString()).toBe('delta -2');
    expect(await stock()).toBe(8);
    expect(await rows()).toMatchObject([{ op: 'execute', outcome: 'SUCCEEDED', output: Buffer.from('delta -2') }]);
  });

  it('answers a duplicate execute with the stored result and no effect', async () => {
    const runs = { count: 0 };
    await barrier.execute(ctx, adjust(-2, runs));
    const again = await barrier.execute(ctx, adjust(-2, runs));
    expect(again?.toString()).toBe('delta -2');
    expect(runs.count).toBe(1);
    expect(await stock()).toBe(8);
  });

  it('compensates an executed step once; a duplicate compensate answers the stored result', async () => {
    const runs = { count: 0 };
    await barrier.execute(ctx, adjust(-2, runs));
    await barrier.compensate(ctx, adjust(2, runs));
    const again = await barrier.compensate(ctx, adjust(2, runs));
    expect(again?.toString()).toBe('delta 2');
    expect(runs.count).toBe(2);
    expect(await stock()).toBe(10);
  });

  it('makes a compensate without execute a null compensation and refuses the late (hanging) execute', async () => {
    const runs = { count: 0 };
    const output = await barrier.compensate(ctx, adjust(2, runs));
    expect(output).toBeUndefined();
    expect(runs.count).toBe(0);
    expect(await rows()).toMatchObject([
      { op: 'compensate', outcome: 'NULL_COMPENSATION' },
      { op: 'execute', outcome: 'REJECTED', error_code: BARRIER_REJECTED },
    ]);

    const err = await terminal(barrier.execute(ctx, adjust(-2, runs)));
    expect(err.code).toBe(BARRIER_REJECTED);
    expect(runs.count).toBe(0);
    expect(await stock()).toBe(10);
    // A duplicate null compensation stays a success without effect.
    expect(await barrier.compensate(ctx, adjust(2, runs))).toBeUndefined();
    expect(runs.count).toBe(0);
  });

  it('refuses an execute after a completed compensation too (hanging)', async () => {
    const runs = { count: 0 };
    await barrier.execute(ctx, adjust(-2, runs));
    await barrier.compensate(ctx, adjust(2, runs));
    const err = await terminal(barrier.execute(ctx, adjust(-2, runs)));
    expect(err.code).toBe(BARRIER_REJECTED);
    expect(runs.count).toBe(2);
    expect(await stock()).toBe(10);
  });

  it('records a business failure: change rolled back, row FAILED, duplicate answers the same failure', async () => {
    const failing = async (tx: SqliteTx): Promise<void> => {
      await tx.run("UPDATE counter SET value = value - 100 WHERE name = 'stock'");
      throw new TerminalError('INSUFFICIENT_STOCK', 'only 10 left');
    };
    const first = await terminal(barrier.execute(ctx, failing));
    expect(first).toMatchObject({ code: 'INSUFFICIENT_STOCK', message: 'only 10 left' });
    expect(await stock()).toBe(10);
    expect(await rows()).toMatchObject([
      { op: 'execute', outcome: 'FAILED', error_code: 'INSUFFICIENT_STOCK', error_message: 'only 10 left', output: null },
    ]);

    const runs = { count: 0 };
    const duplicate = await terminal(barrier.execute(ctx, adjust(-2, runs)));
    expect(duplicate).toMatchObject({ code: 'INSUFFICIENT_STOCK', message: 'only 10 left' });
    expect(runs.count).toBe(0);

    // Compensating a failed execute is a null compensation.
    expect(await barrier.compensate(ctx, adjust(2, runs))).toBeUndefined();
    expect(runs.count).toBe(0);
    expect((await rows()).find((row) => row.op === 'compensate')?.outcome).toBe('NULL_COMPENSATION');
  });

  it('rolls everything back on a transient error, so a retry runs the business change', async () => {
    const err = await barrier
      .execute(ctx, async (tx) => {
        await tx.run("UPDATE counter SET value = value - 2 WHERE name = 'stock'");
        throw new Error('connection reset');
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect(err).not.toBeInstanceOf(TerminalError);
    expect(await stock()).toBe(10);
    expect(await rows()).toEqual([]);

    const runs = { count: 0 };
    await barrier.execute(ctx, adjust(-2, runs));
    expect(runs.count).toBe(1);
    expect(await stock()).toBe(8);
  });

  it('records a failed compensation as FAILED and answers duplicates with it', async () => {
    const runs = { count: 0 };
    await barrier.execute(ctx, adjust(-2, runs));
    const failing = (): Promise<void> => Promise.reject(new TerminalError('CANNOT_RESTORE', 'warehouse closed'));
    expect((await terminal(barrier.compensate(ctx, failing))).code).toBe('CANNOT_RESTORE');
    expect((await terminal(barrier.compensate(ctx, adjust(2, runs)))).code).toBe('CANNOT_RESTORE');
    expect(runs.count).toBe(1);
    expect(await stock()).toBe(8);
  });

  it('serializes concurrent operations on the one connection', async () => {
    const runs = { count: 0 };
    const steps = Array.from({ length: 25 }, (_, i) => `step-${i}`);
    await Promise.all([
      ...steps.map((step) => barrier.execute({ sagaId: 'saga-2', step }, adjust(-1, runs))),
      ...steps.map((step) => barrier.execute({ sagaId: 'saga-2', step }, adjust(-1, runs))),
    ]);
    expect(runs.count).toBe(25);
    expect(await stock()).toBe(-15);
  });

  it('keeps results across a restart', async () => {
    const runs = { count: 0 };
    await barrier.execute(ctx, adjust(-2, runs));
    await barrier.close();
    barrier = await openBarrier();
    expect((await barrier.execute(ctx, adjust(-2, runs)))?.toString()).toBe('delta -2');
    expect(runs.count).toBe(1);
  });

  it('deletes rows older than the retention', async () => {
    const runs = { count: 0 };
    await barrier.execute(ctx, adjust(-1, runs));
    await barrier.execute({ sagaId: 'old', step: 'deduct' }, adjust(-1, runs));
    await barrier.transaction((tx) => tx.run("UPDATE saga_barrier SET created_at = 0 WHERE saga_id = 'old'"));
    expect(await barrier.cleanupOlderThan(60_000)).toBe(1);
    expect((await rows()).map((row) => row.saga_id)).toEqual(['saga-1']);
  });

  it('refuses a tx used outside its callback', async () => {
    let leaked: SqliteTx | undefined;
    await barrier.transaction((tx) => {
      leaked = tx;
      return Promise.resolve();
    });
    await expect(leaked?.get('SELECT 1')).rejects.toThrow(/transaction is over/);
  });

  it('refuses a nested transaction instead of waiting for itself', async () => {
    await expect(barrier.execute(ctx, () => barrier.transaction(() => Promise.resolve()))).rejects.toThrow(/nested SQLite transaction/);
    expect(await rows()).toEqual([]);
  });

  it('runs transactions queued before close()', async () => {
    const runs = { count: 0 };
    const queued = barrier.execute(ctx, adjust(-1, runs));
    await barrier.close();
    expect((await queued)?.toString()).toBe('delta -1');
    await expect(barrier.transaction(() => Promise.resolve())).rejects.toThrow(/closed/);
    barrier = await openBarrier();
    expect(await stock()).toBe(9);
  });

  it('validates its options', () => {
    expect(() => new SqliteBarrier({ path: '' })).toThrow(/"path"/);
    expect(() => new SqliteBarrier({ path: 'x.db', retentionMs: 0 })).toThrow(/"retentionMs"/);
  });
});
