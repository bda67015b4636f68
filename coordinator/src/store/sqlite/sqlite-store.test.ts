// The SQLite store on a fresh file per test: recovery reads every active saga
// (across its pages, skipping finished ones), reads see writes committed after
// earlier reads (the stale-snapshot regression), a unit failing on its own
// constraint is isolated from its batch, blobs are bound bytes, and a second
// owner of the file is refused.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG } from '../../config/config.js';
import type { SagaDefinition, SagaState } from '../../domain/saga-types.js';
import { validateStartSaga } from '../../domain/validate-start-saga.js';
import type { JournalEvent } from '../../domain/journal-event.js';
import type { SagaRow, WriteUnit } from '../store.js';
import { SqliteStore } from './sqlite-store.js';
import { DatabaseInUseError } from './owner-lock.js';
import { WriteConflictError } from '../write-conflict-error.js';
import { hostname } from 'node:os';

const dirs: string[] = [];
const stores: SqliteStore[] = [];

afterEach(async () => {
  for (const s of stores.splice(0)) await s.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function openStore(name: string): Promise<SqliteStore> {
  const dir = mkdtempSync(join(tmpdir(), `store-${name}-`));
  dirs.push(dir);
  const store = new SqliteStore({ path: join(dir, 'saga.db'), synchronous: 'NORMAL' });
  await store.open();
  stores.push(store);
  return store;
}

const definition: SagaDefinition = validateStartSaga(
  {
    sagaId: '',
    name: 'store-test',
    steps: [
      {
        name: 'a',
        participant: 'p',
        action: 'do',
        compensateAction: 'undo',
        payload: Buffer.from('payload'),
        dependsOn: [],
        noCompensation: false,
        retry: undefined,
        compensationRetry: undefined,
        metadata: {},
      },
    ],
    deadlineMs: 0,
    defaultRetry: undefined,
    defaultCompensationRetry: undefined,
    metadata: {},
    waitMs: 0,
  },
  DEFAULT_CONFIG.limits,
  DEFAULT_CONFIG.retry,
  () => 'registered',
).definition;

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

describe('SqliteStore', () => {
  it('loads every active saga with its journal, across pages, skipping finished ones', async () => {
    const store = await openStore('recovery-pages');
    const active: string[] = [];
    const units: Promise<void>[] = [];
    // 4,500 sagas: two pages and a half of active ones, with finished ones in between.
    for (let i = 0; i < 4_500; i++) {
      const key = await store.nextSagaKey();
      const finished = i % 3 === 1;
      const id = `saga-${i}`;
      if (!finished) active.push(id);
      units.push(store.commit(sagaUnit(key, id, finished)));
    }
    await Promise.all(units);

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
    expect(store.failure()).toBeUndefined();
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

  it('refuses a second owner of the file at once, naming the file, and lets one in after close', async () => {
    const first = await openStore('owner-lock');
    const path = join(dirs.at(-1) ?? '', 'saga.db');
    const second = new SqliteStore({ path, synchronous: 'NORMAL' });
    const err = await second.open().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(DatabaseInUseError);
    expect((err as Error).message).toBe(`database ${path} is in use by another coordinator (pid ${process.pid} on host ${hostname()})`);
    await first.close();
    stores.splice(stores.indexOf(first), 1);
    await second.open();
    stores.push(second);
  });

  it('never hands out a saga key again after a restart, used or not', async () => {
    const store = await openStore('keys-after-restart');
    const handedOut = [await store.nextSagaKey(), await store.nextSagaKey(), await store.nextSagaKey()];
    await store.commit(sagaUnit(handedOut[0] ?? 0, 'only-one-used', false));
    await store.close();
    stores.splice(stores.indexOf(store), 1);
    const path = join(dirs.at(-1) ?? '', 'saga.db');
    const reopened = new SqliteStore({ path, synchronous: 'NORMAL' });
    await reopened.open();
    stores.push(reopened);
    const next = await reopened.nextSagaKey();
    expect(next).toBeGreaterThan(Math.max(...handedOut));
    await reopened.commit(sagaUnit(next, 'after-restart', false));
    expect((await reopened.getSagaRow('after-restart'))?.key).toBe(next);
  });
});
