// The outbox of a PostgreSQL database several stores share, each row owned by
// the instance whose relay publishes it: each store reads only its own unsent
// rows; claiming a saga (an expired owner's, or one taken for an operator
// command) moves its unsent rows to the claimer; the rows an expired instance
// leaves besides are claimed whole ordering keys at a time, SKIP LOCKED, by one
// of two concurrent claimers; and rows of instances gone long ago that own
// nothing are pruned, after which their late writes are refused.

import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { expireLease } from '../../testing/expire-lease.js';
import { useStoreFixtures } from '../../testing/store-fixtures.js';
import { oneStepDefinition, preparedMessage } from '../../testing/store-test-rows.js';
import type { OutboxInsert, WriteUnit } from '../store.js';
import { PostgresStore } from './postgres-store.js';

const fixtures = useStoreFixtures();
/** A lease renewed every 20 s: not during a test. */
const MINUTE_LEASE_MS = 60_000;

const definition = oneStepDefinition('outbox-owner-test');

function event(id: string, orderingKey: string): OutboxInsert {
  return { id, subject: `saga.events.${orderingKey}`, payload: Buffer.from(id), headers: {}, createdAt: 1, orderingKey };
}

/** A saga (running, or finished) with outbox rows of its own ordering key. */
function sagaWithEvents(key: number, id: string, events: readonly string[], finished = false): WriteUnit {
  return {
    inserts: [{ key, id, state: 'RUNNING', createdAt: 1, deadlineAt: undefined, definition, definitionHash: 'h' }],
    journal: [{ key, seq: 1, event: { t: 'dispatch', at: 1, s: 0, op: 'execute', n: 1 } }],
    updates: finished ? [{ key, state: 'COMPLETED', updatedAt: 2, finishedAt: 2, failedStep: '', reason: '', note: '', version: 1 }] : undefined,
    outbox: events.map((e) => event(e, id)),
  };
}

/** A store; `leaseMs` long enough that no renewal comes during the test (its lease ends where the test sets it). */
async function openPostgres(url: string, instance: string, leaseMs?: number): Promise<PostgresStore> {
  const store = fixtures.track(new PostgresStore({ url, instance, settings: leaseMs === undefined ? undefined : { leaseMs } }));
  await store.open();
  return store;
}

async function pendingIds(store: PostgresStore): Promise<string[]> {
  return (await store.readPendingOutbox(0, 1_000)).map((r) => r.id);
}

/** Runs `sql` on a connection of its own. */
async function admin<T extends pg.QueryResultRow>(url: string, sql: string, values: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(sql, values)).rows;
  } finally {
    await client.end();
  }
}

describe('PostgresStore outbox ownership', () => {
  it('lets each store read only the unsent rows it wrote', async () => {
    const url = await fixtures.location('postgres', 'own rows');
    const a = await openPostgres(url, 'a');
    const b = await openPostgres(url, 'b');
    await a.commit(sagaWithEvents(await a.nextSagaKey(), 'saga-a', ['a1', 'a2']));
    await b.commit(sagaWithEvents(await b.nextSagaKey(), 'saga-b', ['b1']));
    await a.commit({ outbox: [event('alert-a', 'alert.x')] });
    expect(await pendingIds(a)).toEqual(['a1', 'a2', 'alert-a']);
    expect(await pendingIds(b)).toEqual(['b1']);
  });

  it("moves a claimed saga's unsent rows to its new owner, and a commanded saga's from its live owner", async () => {
    const url = await fixtures.location('postgres', 'rows move with saga');
    const stale = await openPostgres(url, 'stale');
    const fresh = await openPostgres(url, 'fresh');
    const key = await stale.nextSagaKey();
    await stale.commit(sagaWithEvents(key, 'moving', ['m1', 'm2']));
    // A finished saga's last event is not claimed with sagas (nothing to resume), only as an orphaned row.
    await stale.commit(sagaWithEvents(await stale.nextSagaKey(), 'done', ['d1'], true));
    const [first] = await stale.readPendingOutbox(0, 1);
    await stale.markOutboxSent([first?.seq ?? 0], 5);
    await expireLease(url, stale.ownership.instanceId());
    // The orphaned rows alone: the finished saga's, not the active one's (they go with the saga).
    expect(await fresh.ownership.claimOrphanOutbox(10)).toBe(1);
    expect(await pendingIds(stale)).toEqual(['m2']);
    expect(await fresh.ownership.claimOrphans(10, () => undefined)).toBe(1);
    expect(await pendingIds(fresh)).toEqual(['m2', 'd1']);
    expect(await pendingIds(stale)).toEqual([]);
    // The new owner's next event comes after the old one in seq order: its relay publishes them in order.
    await fresh.commit({ outbox: [event('m3', 'moving')] });
    expect(await pendingIds(fresh)).toEqual(['m2', 'd1', 'm3']);

    const owner = await openPostgres(url, 'owner');
    await owner.commit(sagaWithEvents(await owner.nextSagaKey(), 'commanded', ['c1']));
    expect((await fresh.ownership.takeSaga('commanded'))?.row.id).toBe('commanded');
    expect(await pendingIds(owner)).toEqual([]);
    expect(await pendingIds(fresh)).toEqual(['m2', 'd1', 'm3', 'c1']);
  });

  it("claims an expired instance's other rows whole keys at a time, skipping a key with a row locked elsewhere, once between two claimers", async () => {
    const url = await fixtures.location('postgres', 'orphan rows');
    const dead = await openPostgres(url, 'dead');
    const b = await openPostgres(url, 'b');
    const c = await openPostgres(url, 'c');
    const keys = Array.from({ length: 40 }, (_, i) => `k${i}`);
    // Rows of each key interleaved in seq order, so that a batch's first rows cover only some of a key's.
    for (let round = 0; round < 3; round++) await dead.commit({ outbox: keys.map((k) => event(`${k}-${round}`, k)) });
    const live = await dead.ownership.claimOrphanOutbox(100);
    expect(live).toBe(0);
    await expireLease(url, dead.ownership.instanceId());

    // A row of k0 locked by another transaction: k0 is skipped (not waited for), whole.
    const locker = new pg.Client({ connectionString: url });
    await locker.connect();
    try {
      await locker.query('BEGIN');
      await locker.query("SELECT seq FROM outbox WHERE id = 'k0-2' FOR UPDATE");
      expect(await b.ownership.claimOrphanOutbox(5)).toBe(3 * 5 - 3);
      expect((await pendingIds(b)).filter((id) => id.startsWith('k0-'))).toEqual([]);
    } finally {
      await locker.query('ROLLBACK');
      await locker.end();
    }

    // Two claimers at once, each in batches of 7 rows, until nothing is left.
    const drain = async (s: PostgresStore): Promise<void> => {
      while ((await s.ownership.claimOrphanOutbox(7)) > 0);
    };
    await Promise.all([drain(b), drain(c)]);
    const ofB = await pendingIds(b);
    const ofC = await pendingIds(c);
    expect([...ofB, ...ofC].sort()).toEqual(keys.flatMap((k) => [0, 1, 2].map((r) => `${k}-${r}`)).sort());
    // Every key's rows are with one store.
    const keyOf = (id: string): string => id.split('-')[0] ?? '';
    const keysOfB = new Set(ofB.map(keyOf));
    expect(ofC.map(keyOf).filter((k) => keysOfB.has(k))).toEqual([]);
    expect(await pendingIds(dead)).toEqual([]);
  });

  it('prunes instances expired long ago that own nothing, keeps those that own something, refuses a pruned one its writes', async () => {
    const url = await fixtures.location('postgres', 'prune instances');
    const stores: PostgresStore[] = [];
    // One after the other: the first migrates the database.
    for (const name of ['live', 'gone', 'with-saga', 'with-row', 'with-message', 'recent']) stores.push(await openPostgres(url, name, MINUTE_LEASE_MS));
    const [live, gone, withSaga, withRow, withMessage, recent] = stores as [PostgresStore, PostgresStore, PostgresStore, PostgresStore, PostgresStore, PostgresStore];
    await withSaga.commit(sagaWithEvents(await withSaga.nextSagaKey(), 'active', []));
    await withRow.commit({ outbox: [event('left', 'alert.x')] });
    await withMessage.commit({ messageInserts: [{ record: preparedMessage('msg-1'), payload: Buffer.from('x') }] });
    // gone's finished saga and sent row do not keep it.
    await gone.commit(sagaWithEvents(await gone.nextSagaKey(), 'finished', ['sent'], true));
    await gone.markOutboxSent((await gone.readPendingOutbox(0, 10)).map((r) => r.seq), 3);
    const longAgo = [gone, withSaga, withRow, withMessage].map((s) => s.ownership.instanceId());
    // Expired more than 10 leases ago; `recent` expired just now.
    await admin(url, "UPDATE instances SET lease_until = clock_timestamp() - interval '11 minutes' WHERE id = ANY($1::text[])", [longAgo]);
    await expireLease(url, recent.ownership.instanceId());

    expect(await live.ownership.pruneInstances()).toEqual([gone.ownership.instanceId()]);
    const left = (await admin<{ id: string }>(url, 'SELECT id FROM instances ORDER BY id')).map((r) => r.id);
    expect(left.sort()).toEqual([live, withSaga, withRow, withMessage, recent].map((s) => s.ownership.instanceId()).sort());
    expect(await live.ownership.pruneInstances()).toEqual([]);
    // The pruned instance (had it been only paused) may no longer write rows it would own: nobody could claim them.
    await expect(gone.commit({ outbox: [event('late', 'alert.x')] })).rejects.toThrow(/registration .* is gone/);
    expect(await live.outboxHas('late')).toBe(false);
  });
});
