// The embedded store with its writer connection on a thread of its own (the
// coordinator's default, database.writerThread), from the built package as
// the coordinator runs it: batches, saga-key reservations (values come back
// from the thread), a unit's own constraint failure isolated from the rest of
// its batch, and everything durable across a reopen on the event-loop writer.

import { SqliteStore, WriteConflictError } from '@saga/coordinator';
import { afterEach, describe, expect, it } from 'vitest';
import { testDir } from '../support/test-dir.js';

const stores: SqliteStore[] = [];
const dirs: ReturnType<typeof testDir>[] = [];
afterEach(async () => {
  for (const s of stores.splice(0)) await s.close();
  for (const d of dirs.splice(0)) d.remove();
});

async function open(path: string, writerThread: boolean): Promise<SqliteStore> {
  const store = new SqliteStore({ path, synchronous: 'FULL', writerThread });
  await store.open();
  stores.push(store);
  return store;
}

const row = (id: string, bytes = 64) => ({ id, subject: 's.x', payload: Buffer.alloc(bytes, 1), headers: { h: 'v' }, createdAt: 1, orderingKey: id });

describe('SQLite writer thread', () => {
  it('writes batches, reserves saga keys and isolates a unit\'s own conflict through the thread; all durable across a reopen', async () => {
    const dir = testDir('sqlite writer thread');
    dirs.push(dir);
    const path = dir.file('coordinator.db');
    const store = await open(path, true);
    expect(store.writerOnOwnThread()).toBe(true);

    const keys = [await store.nextSagaKey(), await store.nextSagaKey(), await store.nextSagaKey()];
    expect(keys[1]).toBe(keys[0]! + 1);
    expect(keys[2]).toBe(keys[1]! + 1);

    // One tick: one batch, bytes (blobs) and text crossing the thread.
    await Promise.all(Array.from({ length: 50 }, (_, i) => store.commit({ outbox: [row(`e${i}`, 1000 + i)] })));
    expect(store.commitStats().units).toBeGreaterThanOrEqual(50);
    expect((await store.outboxBacklog()).unsent).toBe(50);

    // Two writes of the same event id in one batch: the second fails alone, the others commit.
    const settled = await Promise.allSettled([store.commit({ outbox: [row('dup')] }), store.commit({ outbox: [row('dup')] }), store.commit({ outbox: [row('after')] })]);
    expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((settled[1] as PromiseRejectedResult).reason).toBeInstanceOf(WriteConflictError);
    expect(store.failure()).toBeUndefined();

    const pending = await store.readPendingOutbox(0, 100);
    expect(pending).toHaveLength(52);
    expect(pending.find((r) => r.id === 'e7')?.payload).toEqual(Buffer.alloc(1007, 1));
    expect(pending.find((r) => r.id === 'e7')?.headers).toEqual({ h: 'v' });

    await store.close();
    stores.splice(stores.indexOf(store), 1);
    const again = await open(path, false);
    expect(again.writerOnOwnThread()).toBe(false);
    expect((await again.outboxBacklog()).unsent).toBe(52);
    // The reservations were durable: new keys come after them.
    expect(await again.nextSagaKey()).toBeGreaterThan(keys[2]!);
  });
});
