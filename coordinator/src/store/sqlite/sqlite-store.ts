// The embedded store: one SQLite file in WAL mode. One connection writes (in
// serialized mode, group-committed multi-row statements); another reads, so
// GetSaga/ListSagas never wait behind an fsync.

import { decodeDefinition, encodeDefinition } from '../definition-codec.js';
import { invalidArgument } from '../../domain/errors.js';
import { decodeJournalEvent, encodeJournalEvent, type JournalEvent } from '../../domain/journal-event.js';
import type { ListSagasFilter, SagaState, SagaSummary } from '../../domain/saga-types.js';
import type { MessageRecord, MessageState, MessageView } from '../../messages/message-types.js';
import { SagaKeyBlocks } from '../saga-key-blocks.js';
import type {
  JournalAppend,
  ListSagasPage,
  OutboxBacklog,
  OutboxInsert,
  OutboxRow,
  SagaInsert,
  SagaRow,
  SagaUpdate,
  Store,
  WriteUnit,
} from '../store.js';
import { GroupCommitter } from './group-commit.js';
import { migrate } from './migrations.js';
import { SqliteConnection, type SqlParam } from './sqlite-connection.js';
import {
  countDecidedBefore,
  countPreparedMessages,
  deleteDecidedStatement,
  getMessage,
  loadPendingMessages,
  messageStatements,
  syncPublishedStatement,
  viewMessage,
  type SqlStatement,
} from './sqlite-messages.js';

export type SynchronousMode = 'FULL' | 'NORMAL' | 'OFF';

export interface SqliteStoreOptions {
  /** Database file path. */
  readonly path: string;
  /** PRAGMA synchronous. FULL (default) survives power loss; NORMAL survives process crashes only. */
  readonly synchronous?: SynchronousMode;
  /** Units of work per transaction at most. Default 256. */
  readonly maxBatch?: number;
  /** Observer of each committed batch: its oldest unit's wait in ms and its size (admission control's signal). */
  readonly onCommitBatch?: (oldestWaitMs: number, units: number) => void;
}

/** A reservation of saga keys: `last` is set to the counter's new value in the transaction. */
interface KeyReservation {
  readonly count: number;
  last?: number;
}

/**
 * Internal unit: application writes; or the store's own statements (outbox and
 * message maintenance), run after them in the same transaction; or a purge of
 * finished sagas; or a reservation of saga keys.
 */
type StoreUnit = WriteUnit & {
  readonly statements?: readonly SqlStatement[];
  readonly purge?: readonly number[];
  readonly reserveKeys?: KeyReservation;
};

interface SagaRowDb {
  key: number;
  id: string;
  name: string;
  state: SagaState;
  created_at: number;
  updated_at: number;
  finished_at: number | null;
  deadline_at: number | null;
  definition: string;
  definition_hash: string;
  failed_step: string;
  reason: string;
  note: string;
  version: number;
}

interface OutboxRowDb {
  seq: number;
  id: string;
  subject: string;
  payload: Buffer;
  headers: string;
  ordering_key: string;
  created_at: number;
}

type SummaryRowDb = Pick<SagaRowDb, 'key' | 'id' | 'name' | 'state' | 'created_at' | 'updated_at' | 'finished_at' | 'failed_step' | 'reason'>;

const SUMMARY_COLUMNS = 'key, id, name, state, created_at, updated_at, finished_at, failed_step, reason';
const SAGA_COLUMNS =
  'key, id, name, state, created_at, updated_at, finished_at, deadline_at, definition, definition_hash, failed_step, reason, note, version';
/** Active sagas read per query at recovery. */
const RECOVERY_PAGE = 2_000;
// SQLite's bound-parameter limit is 32766; stay well below it.
const MAX_PARAMS = 8000;

export class SqliteStore implements Store {
  private writer: SqliteConnection | undefined;
  private reader: SqliteConnection | undefined;
  private readonly keys = new SagaKeyBlocks({ reserve: (count) => this.reserveKeys(count) });
  private readonly committer: GroupCommitter<StoreUnit>;
  private readonly synchronous: SynchronousMode;

  constructor(private readonly options: SqliteStoreOptions) {
    this.synchronous = options.synchronous ?? 'FULL';
    if (!['FULL', 'NORMAL', 'OFF'].includes(this.synchronous)) {
      throw new Error(`SqliteStore: synchronous must be FULL, NORMAL or OFF, got ${String(options.synchronous)}`);
    }
    // Bounded so that the calls a batch releases (one burst of synchronous work
    // when it commits) leave the event loop free to read and write sockets often.
    const maxBatch = options.maxBatch ?? 256;
    if (!Number.isInteger(maxBatch) || maxBatch < 1) throw new Error('SqliteStore: maxBatch must be a positive integer');
    this.committer = new GroupCommitter({ maxBatch, write: (units) => this.writeBatch(units), onBatch: options.onCommitBatch });
  }

  async open(): Promise<void> {
    const writer = await SqliteConnection.open(this.options.path, false);
    await writer.exec(
      `PRAGMA journal_mode = WAL; PRAGMA synchronous = ${this.synchronous}; PRAGMA busy_timeout = 5000;` +
        // 16 MiB: writes append at the right edges of the tables and indexes, a
        // small hot set; every MiB of page cache is resident memory once filled.
        ' PRAGMA cache_size = -16384; PRAGMA temp_store = MEMORY;',
    );
    await migrate(writer);
    writer.serialize();
    const reader = await SqliteConnection.open(this.options.path, true);
    await reader.exec('PRAGMA busy_timeout = 5000; PRAGMA cache_size = -16384;');
    this.writer = writer;
    this.reader = reader;
  }

  async close(): Promise<void> {
    await this.keys.idle();
    await this.committer.idle();
    await this.reader?.close();
    await this.writer?.close();
    this.reader = undefined;
    this.writer = undefined;
  }

  nextSagaKey(): Promise<number> {
    return this.keys.next();
  }

  commit(unit: WriteUnit): Promise<void> {
    return this.committer.commit(unit);
  }

  commitStats(): { batches: number; units: number } {
    return this.committer.stats();
  }

  /** Age in ms of the oldest write not yet committed (0 when none): a stalled log shows here. */
  oldestPendingCommitMs(): number {
    return this.committer.oldestWaitingMs();
  }

  async getSagaRow(id: string): Promise<SagaRow | undefined> {
    const row = await this.read().get<SagaRowDb>(`SELECT ${SAGA_COLUMNS} FROM sagas WHERE id = ?`, [id]);
    return row === undefined ? undefined : toSagaRow(row);
  }

  async getJournal(key: number): Promise<JournalEvent[]> {
    const rows = await this.read().all<{ data: string }>('SELECT data FROM journal WHERE saga_key = ? ORDER BY seq', [key]);
    return rows.map((r) => decodeJournalEvent(r.data));
  }

  async loadActiveSagas(visit: (row: SagaRow, events: JournalEvent[]) => void): Promise<number> {
    // Pages by key, so that the caller acts on the first sagas (re-sends their
    // in-doubt calls) while SQLite reads the next ones. Keys only grow, and a
    // saga's writes during recovery concern keys already visited.
    const db = this.read();
    let after = 0;
    let total = 0;
    for (;;) {
      const rows = await db.all<SagaRowDb>(
        `SELECT ${SAGA_COLUMNS} FROM sagas WHERE state IN ('RUNNING', 'COMPENSATING') AND key > ? ORDER BY key LIMIT ${RECOVERY_PAGE}`,
        [after],
      );
      const last = rows.at(-1);
      if (last === undefined) return total;
      const journals = new Map<number, JournalEvent[]>(rows.map((r) => [r.key, []]));
      await db.each<{ saga_key: number; data: string }>(
        // The keys inline (integers): finished sagas between them are not read.
        `SELECT saga_key, data FROM journal WHERE saga_key IN (${rows.map((r) => r.key).join(',')}) ORDER BY saga_key, seq`,
        [],
        (r) => journals.get(r.saga_key)?.push(decodeJournalEvent(r.data)),
      );
      for (const row of rows) visit(toSagaRow(row), journals.get(row.key) ?? []);
      total += rows.length;
      after = last.key;
    }
  }

  async listSagas(filter: ListSagasFilter): Promise<ListSagasPage> {
    const where: string[] = [];
    const params: SqlParam[] = [];
    if (filter.states.length > 0) {
      where.push(`state IN (${filter.states.map(() => '?').join(', ')})`);
      params.push(...filter.states);
    }
    if (filter.name !== '') {
      where.push('name = ?');
      params.push(filter.name);
    }
    if (filter.createdAfter !== undefined) {
      where.push('created_at >= ?');
      params.push(filter.createdAfter);
    }
    if (filter.createdBefore !== undefined) {
      where.push('created_at < ?');
      params.push(filter.createdBefore);
    }
    if (filter.pageToken !== '') {
      const before = /^[0-9a-z]{1,11}$/.test(filter.pageToken) ? Number.parseInt(filter.pageToken, 36) : Number.NaN;
      if (!Number.isSafeInteger(before) || before <= 0) throw invalidArgument('page_token', 'not a token from ListSagas');
      where.push('key < ?');
      params.push(before);
    }
    params.push(filter.pageSize + 1);
    const rows = await this.read().all<SummaryRowDb>(
      `SELECT ${SUMMARY_COLUMNS} FROM sagas ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY key DESC LIMIT ?`,
      params,
    );
    const more = rows.length > filter.pageSize;
    const page = more ? rows.slice(0, filter.pageSize) : rows;
    const last = page[page.length - 1];
    return {
      sagas: page.map(toSummary),
      nextPageToken: more && last !== undefined ? last.key.toString(36) : '',
    };
  }

  async deleteFinishedBefore(before: number, limit: number): Promise<number> {
    const rows = await this.read().all<{ key: number }>(
      `SELECT key FROM sagas WHERE finished_at < ? AND state IN ('COMPLETED', 'COMPENSATED', 'RESOLVED') LIMIT ?`,
      [before, limit],
    );
    if (rows.length === 0) return 0;
    await this.committer.commit({ purge: rows.map((r) => r.key) });
    return rows.length;
  }

  async countByState(): Promise<Map<SagaState, number>> {
    const rows = await this.read().all<{ state: SagaState; n: number }>('SELECT state, COUNT(*) AS n FROM sagas GROUP BY state');
    return new Map(rows.map((r) => [r.state, r.n]));
  }

  async readPendingOutbox(afterSeq: number, limit: number): Promise<OutboxRow[]> {
    const rows = await this.read().all<OutboxRowDb>(
      `SELECT seq, id, subject, payload, headers, ordering_key, created_at FROM outbox
        WHERE sent_at IS NULL AND seq > ? ORDER BY seq LIMIT ?`,
      [afterSeq, limit],
    );
    return rows.map((r) => ({
      seq: r.seq,
      id: r.id,
      subject: r.subject,
      payload: r.payload,
      headers: JSON.parse(r.headers) as Record<string, string>,
      orderingKey: r.ordering_key,
      createdAt: r.created_at,
    }));
  }

  async markOutboxSent(seqs: readonly number[], sentAt: number): Promise<void> {
    if (seqs.length === 0) return;
    const statements = chunks(seqs, 1).map((chunk) => ({
      sql: `UPDATE outbox SET sent_at = ? WHERE seq IN (${chunk.map(() => '?').join(', ')})`,
      params: [sentAt, ...chunk],
    }));
    await this.committer.commit({ statements });
  }

  async outboxBacklog(): Promise<OutboxBacklog> {
    const db = this.read();
    const count = await db.get<{ n: number }>('SELECT COUNT(*) AS n FROM outbox WHERE sent_at IS NULL');
    const oldest = await db.get<{ created_at: number }>('SELECT created_at FROM outbox WHERE sent_at IS NULL ORDER BY seq LIMIT 1');
    return { unsent: count?.n ?? 0, oldestCreatedAt: oldest?.created_at };
  }

  async deleteSentOutbox(sentBefore: number, limit: number): Promise<number> {
    // Rows are sent roughly in seq order: walk the primary key from the start
    // and stop at the first row to keep, so a pass costs O(limit), not a scan.
    const rows = await this.read().all<{ seq: number; sent_at: number | null }>('SELECT seq, sent_at FROM outbox ORDER BY seq LIMIT ?', [limit]);
    const seqs: number[] = [];
    for (const r of rows) {
      if (r.sent_at === null || r.sent_at >= sentBefore) break;
      seqs.push(r.seq);
    }
    await this.deleteOutboxRows(seqs);
    return seqs.length;
  }

  async dropOldestUnsentOutbox(count: number, subjectPrefixes: readonly string[]): Promise<number> {
    if (count <= 0 || subjectPrefixes.length === 0) return 0;
    const match = subjectPrefixes.map(() => 'substr(subject, 1, ?) = ?').join(' OR ');
    const rows = await this.read().all<{ seq: number }>(
      `SELECT seq FROM outbox WHERE sent_at IS NULL AND (${match}) ORDER BY seq LIMIT ?`,
      [...subjectPrefixes.flatMap((p) => [p.length, p]), count],
    );
    await this.deleteOutboxRows(rows.map((r) => r.seq));
    return rows.length;
  }

  private async deleteOutboxRows(seqs: readonly number[]): Promise<void> {
    if (seqs.length === 0) return;
    const statements = chunks(seqs, 1).map((chunk) => ({
      sql: `DELETE FROM outbox WHERE seq IN (${chunk.map(() => '?').join(', ')})`,
      params: chunk,
    }));
    await this.committer.commit({ statements });
  }

  async outboxHas(id: string): Promise<boolean> {
    const rows = await this.read().all<{ one: number }>('SELECT 1 AS one FROM outbox WHERE id = ?', [id]);
    return rows.length > 0;
  }

  getMessage(id: string): Promise<MessageRecord | undefined> {
    return getMessage(this.read(), id);
  }

  viewMessage(id: string, deliveryId: string): Promise<MessageView | undefined> {
    return viewMessage(this.read(), id, deliveryId);
  }

  loadPendingMessages(visit: (id: string, wakeAt: number, state: MessageState) => void): Promise<number> {
    return loadPendingMessages(this.read(), visit);
  }

  countPreparedMessages(): Promise<number> {
    return countPreparedMessages(this.read());
  }

  async syncPublishedMessages(limit: number): Promise<void> {
    await this.committer.commit({ statements: [syncPublishedStatement(limit)] });
  }

  async deleteMessagesDecidedBefore(before: number, limit: number): Promise<number> {
    const n = await countDecidedBefore(this.read(), before, limit);
    if (n === 0) return 0;
    await this.committer.commit({ statements: [deleteDecidedStatement(before, limit)] });
    return n;
  }

  /** Moves the durable key counter on by `count`; resolves with the block's first key. */
  private async reserveKeys(count: number): Promise<number> {
    const reservation: KeyReservation = { count };
    await this.committer.commit({ reserveKeys: reservation });
    if (reservation.last === undefined) throw new Error('SqliteStore: the key reservation returned no counter');
    return reservation.last - count + 1;
  }

  private read(): SqliteConnection {
    if (this.reader === undefined) throw new Error('SqliteStore is not open');
    return this.reader;
  }

  private write(): SqliteConnection {
    if (this.writer === undefined) throw new Error('SqliteStore is not open');
    return this.writer;
  }

  /** One transaction for a whole batch of units, with multi-row statements. */
  private async writeBatch(units: readonly StoreUnit[]): Promise<void> {
    const db = this.write();
    const inserts: SagaInsert[] = [];
    const journal: JournalAppend[] = [];
    const updates = new Map<number, SagaUpdate>();
    const outbox: OutboxInsert[] = [];
    const purge: number[] = [];
    const statements: SqlStatement[] = [];
    const reservations: KeyReservation[] = [];
    for (const u of units) {
      if (u.statements) statements.push(...u.statements);
      if (u.messageInserts || u.messageUpdates) statements.push(...messageStatements(u.messageInserts ?? [], u.messageUpdates ?? []));
      if (u.reserveKeys) reservations.push(u.reserveKeys);
      if (u.inserts) inserts.push(...u.inserts);
      if (u.journal) journal.push(...u.journal);
      // The latest summary of a saga wins; UPDATE … FROM must not see a key twice.
      if (u.updates) for (const up of u.updates) updates.set(up.key, up);
      if (u.outbox) outbox.push(...u.outbox);
      if (u.purge) purge.push(...u.purge);
    }
    // One transaction sent as SQL text with the values inlined as literals: the
    // batch is one trip to SQLite's thread and its statements run in order.
    // (Prepared statements run one by one are not ordered by serialize(): each
    // goes to the thread pool on its own, so one could run before BEGIN, outside
    // the transaction; and every trip costs the event loop a hand-off.)
    const head: string[] = ['BEGIN IMMEDIATE;'];
    for (const chunk of chunks(inserts, 14)) {
      head.push(
        `INSERT INTO sagas (${SAGA_COLUMNS}) VALUES ${valuesSql(chunk, (s) => [
          s.key,
          s.id,
          s.definition.name,
          s.state,
          s.createdAt,
          s.createdAt,
          null,
          s.deadlineAt ?? null,
          encodeDefinition(s.definition),
          s.definitionHash,
          '',
          '',
          '',
          0,
        ])};`,
      );
    }
    for (const chunk of chunks(journal, 3)) {
      head.push(`INSERT INTO journal (saga_key, seq, data) VALUES ${valuesSql(chunk, (j) => [j.key, j.seq, encodeJournalEvent(j.event)])};`);
    }
    for (const chunk of chunks([...updates.values()], 8)) {
      head.push(
        `UPDATE sagas SET state = v.column2, updated_at = v.column3, finished_at = v.column4, failed_step = v.column5,
           reason = v.column6, note = v.column7, version = v.column8
         FROM (VALUES ${valuesSql(chunk, (u) => [u.key, u.state, u.updatedAt, u.finishedAt ?? null, u.failedStep, u.reason, u.note, u.version])}) AS v
         WHERE sagas.key = v.column1;`,
      );
    }
    for (const chunk of chunks(outbox, 6)) {
      head.push(
        `INSERT INTO outbox (id, subject, payload, headers, ordering_key, created_at) VALUES ${valuesSql(chunk, (o) => [
          o.id,
          o.subject,
          o.payload,
          JSON.stringify(o.headers),
          o.orderingKey,
          o.createdAt,
        ])};`,
      );
    }
    const tail: string[] = [];
    for (const chunk of chunks(purge, 1)) {
      const list = chunk.map(sqlLiteral).join(', ');
      tail.push(`DELETE FROM journal WHERE saga_key IN (${list});`, `DELETE FROM sagas WHERE key IN (${list});`);
    }
    tail.push('COMMIT;');
    try {
      if (statements.length === 0 && reservations.length === 0) await db.exec(`${head.join('\n')}\n${tail.join('\n')}`);
      else {
        await db.exec(head.join('\n'));
        for (const st of statements) await db.run(st.sql, st.params);
        for (const r of reservations) {
          const row = await db.get<{ value: number }>("UPDATE counters SET value = value + ? WHERE name = 'saga_key' RETURNING value", [r.count]);
          r.last = row?.value;
        }
        await db.exec(tail.join('\n'));
      }
    } catch (err) {
      await db.exec('ROLLBACK').catch(() => undefined);
      throw err instanceof Error ? err : new Error(String(err));
    }
  }
}

/** A value as an SQL literal, for statements sent as text (see writeBatch). */
function sqlLiteral(v: SqlParam): string {
  if (v === null) return 'NULL';
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new Error(`SqliteStore: cannot store the number ${v}`);
    return String(v);
  }
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'string') {
    // A NUL would end the SQL text early: such strings travel as hex.
    if (v.includes('\0')) return `CAST(X'${Buffer.from(v, 'utf8').toString('hex')}' AS TEXT)`;
    return `'${v.replaceAll("'", "''")}'`;
  }
  return `X'${v.toString('hex')}'`;
}

/** "(a, b), (c, d)" for a VALUES clause. */
function valuesSql<T>(rows: readonly T[], values: (row: T) => readonly SqlParam[]): string {
  return rows.map((r) => `(${values(r).map(sqlLiteral).join(', ')})`).join(', ');
}

/**
 * Splits rows into statements of power-of-two sizes (at most MAX_PARAMS values
 * each): bounded statement sizes, and for prepared statements (IN lists) only a
 * few distinct texts, so the statement cache stays small and warm instead of
 * preparing (and keeping) a new statement for every batch size.
 */
function chunks<T>(items: readonly T[], columns: number): T[][] {
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

function toSagaRow(r: SagaRowDb): SagaRow {
  return {
    key: r.key,
    id: r.id,
    name: r.name,
    state: r.state,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    finishedAt: r.finished_at ?? undefined,
    deadlineAt: r.deadline_at ?? undefined,
    definition: decodeDefinition(r.definition),
    definitionHash: r.definition_hash,
    failedStep: r.failed_step,
    reason: r.reason,
    note: r.note,
    version: r.version,
  };
}

function toSummary(r: SummaryRowDb): SagaSummary {
  return {
    sagaId: r.id,
    name: r.name,
    state: r.state,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    finishedAt: r.finished_at ?? undefined,
    failedStep: r.failed_step,
    failureReason: r.reason,
  };
}
