// How a batch of the embedded store's units is written: one transaction,
// multi-row statements with bound parameters; or, after a unit's own
// constraint failed the batch, each unit behind a savepoint. Used by the
// store's writer connection, on the event loop or on the writer thread
// (sqlite-writer-thread.ts): the same SQL either way. Synchronous: a batch is
// one uninterrupted transaction on the writer's thread.

import type { SqlParam, SqliteConnection } from './sqlite-connection.js';
import type { SqlStatement } from './sqlite-messages.js';

// SQLite's bound-parameter limit is 32766; stay well below it.
const MAX_PARAMS = 8000;

export const SAGA_COLUMNS =
  'key, id, name, state, created_at, updated_at, finished_at, deadline_at, definition, definition_hash, failed_step, reason, note, version';

/** A reservation of saga keys: `last` is set to the counter's new value in the transaction. */
export interface KeyReservation {
  readonly count: number;
  last?: number;
}

/** A unit with its rows encoded once, at commit(): the batch writer binds them, the committer weighs them. */
export interface EncodedUnit {
  readonly inserts: readonly SqlParam[][];
  readonly journal: readonly SqlParam[][];
  /** Saga key → its summary row. */
  readonly updates: readonly SqlParam[][];
  readonly outbox: readonly SqlParam[][];
  readonly statements: readonly SqlStatement[];
  readonly purge: readonly number[];
  /** Saga key reservations: `last` is set in the transaction. */
  readonly reservations: readonly KeyReservation[];
  readonly bytes: number;
}

const INSERT_WIDTH = 14;
const JOURNAL_WIDTH = 3;
const UPDATE_WIDTH = 8;
const OUTBOX_WIDTH = 6;

/** The units' writes as multi-row statements with bound parameters (blobs travel as bytes, never as SQL text). */
function writeUnits(db: SqliteConnection, units: readonly EncodedUnit[]): void {
  const inserts: SqlParam[][] = [];
  const journal: SqlParam[][] = [];
  const updates = new Map<SqlParam, SqlParam[]>();
  const outbox: SqlParam[][] = [];
  const statements: SqlStatement[] = [];
  const purge: number[] = [];
  const reservations: KeyReservation[] = [];
  for (const u of units) {
    inserts.push(...u.inserts);
    journal.push(...u.journal);
    // The latest summary of a saga wins; UPDATE … FROM must not see a key twice.
    for (const up of u.updates) updates.set(up[0] ?? null, up);
    outbox.push(...u.outbox);
    statements.push(...u.statements);
    purge.push(...u.purge);
    reservations.push(...u.reservations);
  }
  for (const chunk of chunks(inserts, INSERT_WIDTH)) {
    db.runSync(`INSERT INTO sagas (${SAGA_COLUMNS}) VALUES ${placeholders(chunk.length, INSERT_WIDTH)}`, chunk.flat());
  }
  for (const chunk of chunks(journal, JOURNAL_WIDTH)) {
    db.runSync(`INSERT INTO journal (saga_key, seq, data) VALUES ${placeholders(chunk.length, JOURNAL_WIDTH)}`, chunk.flat());
  }
  for (const chunk of chunks([...updates.values()], UPDATE_WIDTH)) {
    db.runSync(
      `UPDATE sagas SET state = v.column2, updated_at = v.column3, finished_at = v.column4, failed_step = v.column5,
         reason = v.column6, note = v.column7, version = v.column8
       FROM (VALUES ${placeholders(chunk.length, UPDATE_WIDTH)}) AS v
       WHERE sagas.key = v.column1`,
      chunk.flat(),
    );
  }
  for (const chunk of chunks(outbox, OUTBOX_WIDTH)) {
    db.runSync(
      `INSERT INTO outbox (id, subject, payload, headers, ordering_key, created_at) VALUES ${placeholders(chunk.length, OUTBOX_WIDTH)}`,
      chunk.flat(),
    );
  }
  for (const st of statements) db.runSync(st.sql, st.params);
  for (const r of reservations) {
    const row = db.getSync<{ value: number }>("UPDATE counters SET value = value + ? WHERE name = 'saga_key' RETURNING value", [r.count]);
    r.last = row?.value;
  }
  for (const chunk of chunks(purge, 1)) {
    const list = chunk.map(() => '?').join(', ');
    db.runSync(`DELETE FROM journal WHERE saga_key IN (${list})`, chunk);
    db.runSync(`DELETE FROM sagas WHERE key IN (${list})`, chunk);
  }
}

/** "(?, ?), (?, ?)" for `rows` rows of `width` values. */
function placeholders(rows: number, width: number): string {
  const row = `(${new Array<string>(width).fill('?').join(', ')})`;
  return new Array<string>(rows).fill(row).join(', ');
}

export function isConstraintError(err: unknown): boolean {
  // SqliteError here, SqliteWriterError from the thread: both carry the primary code.
  return typeof err === 'object' && err !== null && 'code' in err && err.code === 'SQLITE_CONSTRAINT';
}

/**
 * Splits rows into statements of power-of-two sizes (at most MAX_PARAMS values
 * each): bounded statement sizes, and for prepared statements (IN lists) only a
 * few distinct texts, so the statement cache stays small and warm instead of
 * preparing (and keeping) a new statement for every batch size.
 */
export function chunks<T>(items: readonly T[], columns: number): T[][] {
  const max = Math.max(1, Math.floor(MAX_PARAMS / columns));
  const out: T[][] = [];
  for (let i = 0; i < items.length; ) {
    const left = Math.min(items.length - i, max);
    let size = 1;
    while (size * 2 <= left) size *= 2;
    out.push(items.slice(i, i + size));
    i += size;
  }
  return out;
}

/** One transaction for a whole batch of units. */
export function writeBatch(db: SqliteConnection, units: readonly EncodedUnit[]): void {
  db.execSync('BEGIN IMMEDIATE;');
  try {
    writeUnits(db, units);
    db.execSync('COMMIT;');
  } catch (err) {
    rollback(db);
    throw err instanceof Error ? err : new Error(String(err));
  }
}

/** After a failed statement or COMMIT; SQLite may have rolled back already (then ROLLBACK fails, harmlessly). */
function rollback(db: SqliteConnection): void {
  try {
    db.execSync('ROLLBACK;');
  } catch {
    // no transaction left to roll back
  }
}

/**
 * The batch again in one transaction, each unit behind its own savepoint: a
 * unit failing on its own constraint is rolled back alone and answered with
 * that error (the caller wraps it); any other failure fails the transaction.
 */
export function writeIsolated(db: SqliteConnection, units: readonly EncodedUnit[]): (Error | undefined)[] {
  const errors: (Error | undefined)[] = [];
  db.execSync('BEGIN IMMEDIATE;');
  try {
    for (const unit of units) {
      db.execSync('SAVEPOINT unit;');
      try {
        writeUnits(db, [unit]);
        db.execSync('RELEASE unit;');
        errors.push(undefined);
      } catch (err) {
        if (!isConstraintError(err)) throw err;
        db.execSync('ROLLBACK TO unit; RELEASE unit;');
        errors.push(err instanceof Error ? err : new Error(String(err)));
      }
    }
    db.execSync('COMMIT;');
  } catch (err) {
    rollback(db);
    throw err instanceof Error ? err : new Error(String(err));
  }
  return errors;
}
