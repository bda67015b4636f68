// Both store backends (SQLite on a fresh file, PostgreSQL on a fresh database
// of a test cluster) per test: recovery reads every active saga (across its
// pages, skipping finished ones), reads see writes committed after earlier
// reads (the stale-snapshot regression), a unit failing on its own constraint
// is isolated from its batch, blobs are bound bytes, and saga keys are never
// handed out twice across a restart. Then ownership: a second SQLite owner of
// the file is refused; on PostgreSQL several stores share a database, each
// saga owned by one instance under a fencing epoch: an expired instance's
// sagas are claimed by another (epoch bumped), the old owner's writes of them
// are refused alone (its other units commit), and its lease is seen lost.

import { hostname } from 'node:os';
import { describe, expect, it, vi } from 'vitest';
import type { JournalEvent } from '../domain/journal-event.js';
import type { SagaState } from '../domain/saga-types.js';
import { STORE_BACKENDS, useStoreFixtures } from '../testing/store-fixtures.js';
import { oneStepDefinition, preparedMessage } from '../testing/store-test-rows.js';
import { expireLease } from '../testing/expire-lease.js';
import { PostgresStore } from './postgres/postgres-store.js';
import { DatabaseInUseError } from './sqlite/owner-lock.js';
import { SqliteStore } from './sqlite/sqlite-store.js';
import { SagaFencedError } from './saga-fenced-error.js';
import { FIRST_EPOCH, type SagaRow, type Store, type WriteUnit } from './store.js';
import { WriteConflictError } from './write-conflict-error.js';

const fixtures = useStoreFixtures();

const definition = oneStepDefinition('store-test');

/** A saga created with its first dispatch; finished ones also get their result and finish. */
function sagaUnit(key: number, id: string, finished: boolean): WriteUnit {
  const events: JournalEvent[] = [{ t: 'dispatch', at: 1, s: 0, op: 'execute', n: 1 }];
  if (finished) events.push({ t: 'result', at: 2, s: 0, op: 'execute', n: 1, o: 'S' }, { t: 'finish', at: 2, state: 'COMPLETED', reason: '' });
  const state: SagaState = finished ? 'COMPLETED' : 'RUNNING';
  return {
    inserts: [{ key, id, state: 'RUNNING', createdAt: 1, deadlineAt: undefined, definition, definitionHash: 'h' }],
    journal: events.map((event, i) => ({ key, seq: i + 1, event })),
    updates: finished
      ? [{ key, state, updatedAt: 2, finishedAt: 2, failedStep: '', reason: '', note: '', version: events.length }]
      : undefined,
  };
}

describe.each(STORE_BACKENDS)('%s store', (backend) => {
  const openStore = async (test: string): Promise<Store> => fixtures.open(await fixtures.location(backend, test));

  it('loads every active saga with its journal after a restart, across pages, skipping finished ones', async () => {
    const location = await fixtures.location(backend, 'recovery-pages');
    const before = await fixtures.open(location);
    const active: string[] = [];
    const units: Promise<void>[] = [];
    // 4,500 sagas: two pages and a half of active ones, with finished ones in between.
    for (let i = 0; i < 4_500; i++) {
      const key = await before.nextSagaKey();
      const finished = i % 3 === 1;
      const id = `saga-${i}`;
      if (!finished) active.push(id);
      units.push(before.commit(sagaUnit(key, id, finished)));
    }
    await Promise.all(units);
    // A restart: on PostgreSQL the closed instance's lease ends, so the next one claims its sagas at once.
    await before.close();
    fixtures.forget(before);
    const store = await fixtures.open(location);

    const seen: { row: SagaRow; events: JournalEvent[] }[] = [];
    const count = await store.loadActiveSagas((row, events) => seen.push({ row, events }));
    expect(count).toBe(active.length);
    expect(seen.map((s) => s.row.id)).toEqual(active);
    expect(seen.every((s) => s.row.state === 'RUNNING')).toBe(true);
    expect(seen.every((s) => s.events.length === 1 && s.events[0]?.t === 'dispatch')).toBe(true);
    const keys = seen.map((s) => s.row.key);
    expect([...keys].sort((a, b) => a - b)).toEqual(keys);
    expect(seen[0]?.row.definition.steps[0]?.payload.toString()).toBe('payload');
  });

  it('reads what was committed after an earlier read (no snapshot pinned by a cached statement)', async () => {
    const store = await openStore('fresh-reads');
    const key = await store.nextSagaKey();
    await store.commit(sagaUnit(key, 'order-1', false));
    expect((await store.getSagaRow('order-1'))?.state).toBe('RUNNING');
    // The queries that once left a statement on its row: the backlog, then the row again.
    await store.outboxBacklog();
    expect((await store.getSagaRow('order-1'))?.state).toBe('RUNNING');
    await store.commit({
      journal: [{ key, seq: 2, event: { t: 'result', at: 3, s: 0, op: 'execute', n: 1, o: 'S' } }],
      updates: [{ key, state: 'COMPLETED', updatedAt: 3, finishedAt: 3, failedStep: '', reason: '', note: '', version: 2 }],
    });
    expect((await store.getSagaRow('order-1'))?.state).toBe('COMPLETED');
    expect((await store.outboxBacklog()).unsent).toBe(0);
    expect(await store.getJournal(key)).toHaveLength(2);
  });

  it('answers a unit that fails on its own constraint with its own error and commits the others of its batch', async () => {
    const store = await openStore('isolated-unit');
    const key = await store.nextSagaKey();
    await store.commit(sagaUnit(key, 'first', false));
    const other = await store.nextSagaKey();
    // Queued in the same tick: one batch. The second unit repeats (key, seq 1), the third a saga id.
    const good = store.commit(sagaUnit(other, 'second', false));
    const clash = store.commit({ journal: [{ key, seq: 1, event: { t: 'dispatch', at: 5, s: 0, op: 'execute', n: 2 } }] });
    const sameId = store.commit(sagaUnit(await store.nextSagaKey(), 'second', false));
    await expect(clash).rejects.toBeInstanceOf(WriteConflictError);
    await expect(sameId).rejects.toMatchObject({ kind: 'ALREADY_EXISTS' });
    await expect(good).resolves.toBeUndefined();
    expect((await store.getSagaRow('second'))?.key).toBe(other);
    expect(await store.getJournal(other)).toHaveLength(1);
    expect(await store.getJournal(key)).toHaveLength(1);
    const failures: Error[] = [];
    store.onFailed((e) => failures.push(e));
    expect(failures).toEqual([]);
    // The store goes on: the next batch commits.
    await store.commit(sagaUnit(await store.nextSagaKey(), 'third', false));
    expect((await store.getSagaRow('third'))?.state).toBe('RUNNING');
  });

  it('stores blobs as bound bytes: a payload with every byte value, NULs included, reads back unchanged', async () => {
    const store = await openStore('blob-params');
    const payload = Buffer.from(Array.from({ length: 512 }, (_, i) => i % 256));
    await store.commit({ outbox: [{ id: 'e1', subject: 's.x', payload, headers: { a: 'b' }, createdAt: 1, orderingKey: 'k' }] });
    const rows = await store.readPendingOutbox(0, 10);
    expect(Buffer.compare(rows[0]!.payload, payload)).toBe(0);
  });

  it('never hands out a saga key again after a restart, used or not', async () => {
    const location = await fixtures.location(backend, 'keys-after-restart');
    const store = await fixtures.open(location);
    const handedOut = [await store.nextSagaKey(), await store.nextSagaKey(), await store.nextSagaKey()];
    await store.commit(sagaUnit(handedOut[0] ?? 0, 'only-one-used', false));
    await store.close();
    fixtures.forget(store);
    const reopened = await fixtures.open(location);
    const next = await reopened.nextSagaKey();
    expect(next).toBeGreaterThan(Math.max(...handedOut));
    await reopened.commit(sagaUnit(next, 'after-restart', false));
    expect((await reopened.getSagaRow('after-restart'))?.key).toBe(next);
  });
});

async function openPostgres(url: string, instance: string): Promise<PostgresStore> {
  const store = fixtures.track(new PostgresStore({ url, instance }));
  await store.open();
  return store;
}

describe('SqliteStore ownership', () => {
  it('refuses a second owner of the file at once, naming the file, and lets one in after close', async () => {
    const path = await fixtures.location('sqlite', 'owner-lock');
    const first = await fixtures.open(path);
    const second = new SqliteStore({ path, synchronous: 'NORMAL' });
    const err = await second.open().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(DatabaseInUseError);
    expect((err as Error).message).toBe(`database ${path} is in use by another coordinator (pid ${process.pid} on host ${hostname()})`);
    await first.close();
    fixtures.forget(first);
    await second.open();
    fixtures.track(second);
  });
});


describe('PostgresStore ownership', () => {
  it('lets several stores share a database, each owning the sagas it inserted', async () => {
    const url = await fixtures.location('postgres', 'shared database');
    const a = await openPostgres(url, 'a');
    const b = await openPostgres(url, 'b');
    expect(a.ownership.instanceId()).not.toBe(b.ownership.instanceId());
    await a.commit(sagaUnit(await a.nextSagaKey(), 'of-a', false));
    await b.commit(sagaUnit(await b.nextSagaKey(), 'of-b', false));
    expect(await a.getSagaRow('of-a')).toMatchObject({ owner: a.ownership.instanceId(), epoch: FIRST_EPOCH });
    expect(await a.getSagaRow('of-b')).toMatchObject({ owner: b.ownership.instanceId(), epoch: FIRST_EPOCH });
    // Both leases are live: nothing to claim.
    expect(await b.ownership.claimOrphans(100, () => undefined)).toBe(0);
    expect(await a.ownership.claimOrphans(100, () => undefined)).toBe(0);
  });

  it("claims an expired instance's sagas with a new epoch; the old owner's writes of them are refused alone and not applied", async () => {
    const url = await fixtures.location('postgres', 'claimed and fenced');
    const stale = await openPostgres(url, 'stale');
    const lost: Error[] = [];
    stale.ownership.onLeaseLost((err) => lost.push(err));
    const key = await stale.nextSagaKey();
    await stale.commit(sagaUnit(key, 'taken', false));
    const staleId = stale.ownership.instanceId();
    const fresh = await openPostgres(url, 'fresh');
    await expireLease(url, staleId);

    const claimed: SagaRow[] = [];
    expect(await fresh.ownership.claimOrphans(100, (c) => claimed.push(c.row))).toBe(1);
    expect(claimed[0]).toMatchObject({ id: 'taken', owner: fresh.ownership.instanceId(), epoch: FIRST_EPOCH + 1 });
    // Claimed once: a second claim finds nothing.
    expect(await fresh.ownership.claimOrphans(100, () => undefined)).toBe(0);

    // The stale owner writes under the epoch it loaded the saga with, in one batch with a new saga of its own.
    const staleWrite = stale.commit({
      fence: { key, epoch: FIRST_EPOCH },
      journal: [{ key, seq: 2, event: { t: 'result', at: 3, s: 0, op: 'execute', n: 1, o: 'S' } }],
      updates: [{ key, state: 'COMPLETED', updatedAt: 3, finishedAt: 3, failedStep: '', reason: '', note: '', version: 2 }],
    });
    const other = stale.commit(sagaUnit(await stale.nextSagaKey(), 'new-of-stale', false));
    await expect(staleWrite).rejects.toBeInstanceOf(SagaFencedError);
    await expect(staleWrite).rejects.toMatchObject({ kind: 'UNAVAILABLE', expectedEpoch: FIRST_EPOCH, currentEpoch: FIRST_EPOCH + 1 });
    await expect(other).resolves.toBeUndefined();
    expect(stale.failure()).toBeUndefined();
    expect(await fresh.getJournal(key)).toHaveLength(1);
    expect((await fresh.getSagaRow('taken'))?.state).toBe('RUNNING');

    // The new owner writes under the new epoch.
    await fresh.commit({
      fence: { key, epoch: FIRST_EPOCH + 1 },
      journal: [{ key, seq: 2, event: { t: 'result', at: 4, s: 0, op: 'execute', n: 1, o: 'S' } }],
      updates: [{ key, state: 'COMPLETED', updatedAt: 4, finishedAt: 4, failedStep: '', reason: '', note: '', version: 2 }],
    });
    expect((await fresh.getSagaRow('taken'))?.state).toBe('COMPLETED');

    // The stale store's heartbeat finds its lease expired: it is told, and goes on as a new instance.
    await vi.waitFor(() => expect(lost).toHaveLength(1), { timeout: 10_000 });
    expect(lost[0]?.message).toMatch(/expired before it was renewed/);
    await vi.waitFor(() => expect(stale.ownership.instanceId()).not.toBe(staleId), { timeout: 10_000 });
  });

  it('takes one saga over for an operator command, fencing its live owner', async () => {
    const url = await fixtures.location('postgres', 'taken for a command');
    const owner = await openPostgres(url, 'owner');
    const key = await owner.nextSagaKey();
    await owner.commit(sagaUnit(key, 'commanded', false));
    const other = await openPostgres(url, 'other');
    const taken = await other.ownership.takeSaga('commanded');
    expect(taken?.row).toMatchObject({ owner: other.ownership.instanceId(), epoch: FIRST_EPOCH + 1 });
    expect(taken?.events).toHaveLength(1);
    expect(await other.ownership.takeSaga('unknown')).toBeUndefined();
    await expect(owner.commit({ fence: { key, epoch: FIRST_EPOCH }, journal: [{ key, seq: 2, event: { t: 'resent', at: 2, s: 0, op: 'execute', n: 1 } }] })).rejects.toBeInstanceOf(
      SagaFencedError,
    );
    expect(await other.getJournal(key)).toHaveLength(1);
  });

  it("claims an expired instance's pending messages once; a live owner's are left to it", async () => {
    const url = await fixtures.location('postgres', 'messages claimed');
    const owner = await openPostgres(url, 'owner');
    const record = preparedMessage('msg-1');
    await owner.commit({ messageInserts: [{ record, payload: Buffer.from('x') }] });
    // A coordinator starting now does not take the live owner's message (it would check it back twice).
    const other = await openPostgres(url, 'other');
    expect(await other.loadPendingMessages(() => undefined)).toBe(0);
    await expireLease(url, owner.ownership.instanceId());
    const seen: [string, number, string][] = [];
    expect(await other.ownership.claimMessages(10, (id, at, state) => seen.push([id, at, state]))).toBe(1);
    expect(seen).toEqual([['msg-1', 1001, 'PREPARED']]);
    expect(await other.ownership.claimMessages(10, () => undefined)).toBe(0);
  });

  it('claims the sagas of a closed instance at once (its lease ends at close)', async () => {
    const url = await fixtures.location('postgres', 'claimed after close');
    const first = await openPostgres(url, 'first');
    await first.commit(sagaUnit(await first.nextSagaKey(), 'left-behind', false));
    const second = await openPostgres(url, 'second');
    await first.close();
    fixtures.forget(first);
    const ids: string[] = [];
    expect(await second.ownership.claimOrphans(100, (c) => ids.push(c.row.id))).toBe(1);
    expect(ids).toEqual(['left-behind']);
  });
});
