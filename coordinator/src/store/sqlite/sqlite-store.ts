// The embedded store: one SQLite file in WAL mode. One connection writes
// (group-committed multi-row statements, one synchronous transaction per
// batch, by default on a thread of its own); another reads, so GetSaga and
// ListSagas never wait behind an fsync.

import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { decodeDefinition, encodeDefinition } from '../definition-codec.js';
import { invalidArgument } from '../../domain/errors.js';
import { decodeJournalEvent, encodeJournalEvent, type JournalEvent } from '../../domain/journal-event.js';
import type { ListSagasFilter, SagaState, SagaSummary, TransactionKind } from '../../domain/saga-types.js';
import type { MessageRecord, MessageState, MessageView } from '../../messages/message-types.js';
import { SagaKeyBlocks } from '../saga-key-blocks.js';
import type {
  DeadLetterRow,
  ListSagasPage,
  OutboxBacklog,
  OutboxInsert,
  OutboxRow,
  SagaRow,
  Store,
  WriteUnit,
} from '../store.js';
import { GroupCommitter } from '../group-commit.js';
import { migrate } from './migrations.js';
import { SqliteConnection, type SqlParam } from './sqlite-connection.js';
import { OwnerLock } from './owner-lock.js';
import { WriteConflictError } from '../write-conflict-error.js';
import { SqliteWriterThread } from './sqlite-writer-thread.js';
import {
  chunks,
  SAGA_COLUMNS,
  isConstraintError,
  writeBatch,
  writeIsolated,
  type EncodedUnit,
  type KeyReservation,
} from './sqlite-unit-writer.js';
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
import { countMessagesByState, listMessages } from './sqlite-message-list.js';
import type { MessageListPage, MessageListQuery } from '../../messages/message-list.js';

export type SynchronousMode = 'FULL' | 'NORMAL' | 'OFF';

export interface SqliteStoreOptions {
  /** Database file path. */
  readonly path: string;
  /** PRAGMA synchronous. FULL (default) survives power loss; NORMAL survives process crashes only. */
  readonly synchronous?: SynchronousMode;
  /** Units of work per transaction at most. Default 256. */
  readonly maxBatch?: number;
  /** Bytes of bound values per transaction at most (a larger unit is written alone). Default 8 MiB. */
  readonly maxBatchBytes?: number;
  /** The group commit's delay (group-commit.ts), ms: how long a small batch may wait for more units while they arrive fast. Default 0 (off). */
  readonly commitDelayMs?: number;
  /** Observer of each committed batch: its oldest unit's wait in ms, its size, and the units left queued behind it (admission control's signal). */
  readonly onCommitBatch?: (oldestWaitMs: number, units: number, leftBehind: number, writeMs: number) => void;
  /** Observer of each unit's wait from commit() until it was released (a histogram). */
  readonly onCommitWait?: (waitMs: number) => void;
  /** Called once when a write failed and the store latched failed (the process should exit 1). */
  readonly onFailed?: (err: Error) => void;
  /**
   * Run the writer connection on a thread of its own (sqlite-writer-thread.ts):
   * a batch is one message there and back, and the event loop keeps running
   * while SQLite writes and syncs. Otherwise each batch's transaction runs
   * synchronously on the event loop (no thread hand-offs; the loop waits for
   * the disk). Needs the built worker (dist/store/sqlite/sqlite-writer-worker.js).
   * Default false.
   */
  readonly writerThread?: boolean;
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
/** Active sagas read per query at recovery. */
const RECOVERY_PAGE = 2_000;

export class SqliteStore implements Store {
  private writer: SqliteConnection | undefined;
  private reader: SqliteConnection | undefined;
  private writerThread: SqliteWriterThread | undefined;
  private readonly keys = new SagaKeyBlocks({ reserve: (count) => this.reserveKeys(count) });
  private readonly committer: GroupCommitter<EncodedUnit>;
  private lock: OwnerLock | undefined;
  private readonly failedListeners: ((err: Error) => void)[] = [];
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
    this.committer = new GroupCommitter<EncodedUnit>({
      maxBatch,
      maxBatchBytes: options.maxBatchBytes ?? 8 * 1024 * 1024,
      sizeOf: (u) => u.bytes,
      commitDelay: { ms: options.commitDelayMs ?? 0 },
      write: (units) => this.writeBatch(units),
      writeIsolated: (units) => this.writeIsolated(units),
      isUnitError: isConstraintError,
      unitError: (err) => new WriteConflictError(err),
      onBatch: options.onCommitBatch,
      onReleased: options.onCommitWait,
      onFailed: (err) => {
        options.onFailed?.(err);
        for (const l of this.failedListeners.splice(0)) l(err);
      },
    });
  }

  /** Takes the file's owner lock (DatabaseInUseError if another process has it), then opens it. */
  async open(): Promise<void> {
    if (this.options.path !== ':memory:') this.lock = await OwnerLock.acquire(this.options.path);
    const writer = await SqliteConnection.open(this.options.path, false);
    await writer.exec(this.writerPragmas());
    await migrate(writer);
    if (this.options.writerThread === true && this.options.path !== ':memory:') {
      // Migrated here; from now on the thread is the only writer.
      await writer.close();
      this.writerThread = await SqliteWriterThread.start({ path: this.options.path, pragmas: this.writerPragmas() });
    } else {
      this.writer = writer;
    }
    const reader = await SqliteConnection.open(this.options.path, true);
    await reader.exec('PRAGMA busy_timeout = 5000; PRAGMA cache_size = -16384;');
    this.reader = reader;
  }

  /** Whether the writer connection runs on its own thread (writerThread, once open). */
  writerOnOwnThread(): boolean {
    return this.writerThread !== undefined;
  }

  private writerPragmas(): string {
    return (
      `PRAGMA journal_mode = WAL; PRAGMA synchronous = ${this.synchronous}; PRAGMA busy_timeout = 5000;` +
      // 16 MiB: writes append at the right edges of the tables and indexes, a
      // small hot set; every MiB of page cache is resident memory once filled.
      ' PRAGMA cache_size = -16384; PRAGMA temp_store = MEMORY;'
    );
  }

  async close(): Promise<void> {
    await this.keys.idle();
    await this.committer.idle();
    await this.reader?.close();
    await this.writer?.close();
    await this.writerThread?.close();
    this.writerThread = undefined;
    await this.lock?.release();
    this.reader = undefined;
    this.writer = undefined;
    this.lock = undefined;
  }

  /** The write failure the store latched on, if any: nothing is written after it. */
  failure(): Error | undefined {
    return this.committer.failed()?.cause;
  }

  /** Calls `listener` when the store latches failed (at once if it has). */
  onFailed(listener: (err: Error) => void): void {
    const failed = this.failure();
    if (failed !== undefined) listener(failed);
    else this.failedListeners.push(listener);
  }

  nextSagaKey(): Promise<number> {
    return this.keys.next();
  }

  commit(unit: WriteUnit): Promise<void> {
    return this.commitUnit(unit);
  }

  private commitUnit(unit: StoreUnit): Promise<void> {
    return this.committer.commit(encodeUnit(unit));
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
      // Reads are synchronous: let the loop send the visited sagas' calls and read their answers before the next page.
      await yieldToLoop();
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
    // The kind is read from the stored definition ("k": 1 = TCC, see definition-codec.ts).
    const rows = await this.read().all<SummaryRowDb & { tcc: number | null }>(
      `SELECT ${SUMMARY_COLUMNS}, json_extract(definition, '$.k') AS tcc FROM sagas ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY key DESC LIMIT ?`,
      params,
    );
    const more = rows.length > filter.pageSize;
    const page = more ? rows.slice(0, filter.pageSize) : rows;
    const last = page[page.length - 1];
    return {
      sagas: page.map((r) => toSummary(r, r.tcc === 1 ? 'TCC' : 'SAGA')),
      nextPageToken: more && last !== undefined ? last.key.toString(36) : '',
    };
  }

  async deleteFinishedBefore(before: number, limit: number): Promise<number> {
    const rows = await this.read().all<{ key: number }>(
      `SELECT key FROM sagas WHERE finished_at < ? AND state IN ('COMPLETED', 'COMPENSATED', 'RESOLVED') LIMIT ?`,
      [before, limit],
    );
    if (rows.length === 0) return 0;
    await this.commitUnit({ purge: rows.map((r) => r.key) });
    return rows.length;
  }

  async countByState(): Promise<Map<SagaState, number>> {
    const rows = await this.read().all<{ state: SagaState; n: number }>('SELECT state, COUNT(*) AS n FROM sagas GROUP BY state');
    return new Map(rows.map((r) => [r.state, r.n]));
  }

  async readPendingOutbox(afterSeq: number, limit: number): Promise<OutboxRow[]> {
    const rows = await this.read().all<OutboxRowDb>(
      `SELECT seq, id, subject, payload, headers, ordering_key, created_at FROM outbox
        WHERE sent_at IS NULL AND seq > ?
          AND NOT EXISTS (SELECT 1 FROM outbox_dead_letters d WHERE d.ordering_key = outbox.ordering_key)
        ORDER BY seq LIMIT ?`,
      [afterSeq, limit],
    );
    return rows.map(toOutboxRow);
  }

  async deadLetterOutbox(
    row: OutboxRow,
    failure: { readonly at: number; readonly attempts: number; readonly error: string },
    alert: OutboxInsert | undefined,
  ): Promise<boolean> {
    const found = await this.read().get<{ one: number }>('SELECT 1 AS one FROM outbox WHERE seq = ? AND sent_at IS NULL', [row.seq]);
    if (found === undefined) return false;
    await this.commitUnit({
      statements: [
        {
          sql: `INSERT OR IGNORE INTO outbox_dead_letters (seq, id, subject, payload, headers, ordering_key, created_at, failed_at, attempts, error)
                SELECT seq, id, subject, payload, headers, ordering_key, created_at, ?, ?, ? FROM outbox WHERE seq = ? AND sent_at IS NULL`,
          params: [failure.at, failure.attempts, failure.error, row.seq],
        },
        { sql: 'DELETE FROM outbox WHERE seq = ? AND sent_at IS NULL AND seq IN (SELECT seq FROM outbox_dead_letters)', params: [row.seq] },
      ],
      outbox: alert === undefined ? undefined : [alert],
    });
    return true;
  }

  async listDeadLetters(afterSeq: number, limit: number): Promise<DeadLetterRow[]> {
    const rows = await this.read().all<OutboxRowDb & { failed_at: number; attempts: number; error: string; behind: number }>(
      `SELECT d.seq, d.id, d.subject, d.payload, d.headers, d.ordering_key, d.created_at, d.failed_at, d.attempts, d.error,
              (SELECT COUNT(*) FROM outbox o WHERE o.ordering_key = d.ordering_key AND o.sent_at IS NULL) AS behind
         FROM outbox_dead_letters d WHERE d.seq > ? ORDER BY d.seq LIMIT ?`,
      [afterSeq, limit],
    );
    return rows.map((r) => ({ ...toOutboxRow(r), failedAt: r.failed_at, attempts: r.attempts, error: r.error, waitingBehind: r.behind }));
  }

  async replayDeadLetter(id: string): Promise<boolean> {
    if (!(await this.deadLetterExists(id))) return false;
    await this.commitUnit({
      statements: [
        {
          sql: `INSERT OR IGNORE INTO outbox (seq, id, subject, payload, headers, ordering_key, created_at)
                SELECT seq, id, subject, payload, headers, ordering_key, created_at FROM outbox_dead_letters WHERE id = ?`,
          params: [id],
        },
        { sql: 'DELETE FROM outbox_dead_letters WHERE id = ?', params: [id] },
      ],
    });
    return true;
  }

  async dropDeadLetter(id: string): Promise<boolean> {
    if (!(await this.deadLetterExists(id))) return false;
    await this.commitUnit({ statements: [{ sql: 'DELETE FROM outbox_dead_letters WHERE id = ?', params: [id] }] });
    return true;
  }

  async countDeadLetters(): Promise<number> {
    return (await this.read().get<{ n: number }>('SELECT COUNT(*) AS n FROM outbox_dead_letters'))?.n ?? 0;
  }

  private async deadLetterExists(id: string): Promise<boolean> {
    return (await this.read().get<{ one: number }>('SELECT 1 AS one FROM outbox_dead_letters WHERE id = ?', [id])) !== undefined;
  }

  async markOutboxSent(seqs: readonly number[], sentAt: number): Promise<void> {
    if (seqs.length === 0) return;
    const statements = chunks(seqs, 1).map((chunk) => ({
      sql: `UPDATE outbox SET sent_at = ? WHERE seq IN (${chunk.map(() => '?').join(', ')})`,
      params: [sentAt, ...chunk],
    }));
    await this.commitUnit({ statements });
  }

  async outboxBacklog(): Promise<OutboxBacklog> {
    const db = this.read();
    const count = await db.get<{ n: number }>('SELECT COUNT(*) AS n FROM outbox WHERE sent_at IS NULL');
    const oldest = await db.get<{ created_at: number }>('SELECT created_at FROM outbox WHERE sent_at IS NULL ORDER BY seq LIMIT 1');
    return { unsent: count?.n ?? 0, oldestCreatedAt: oldest?.created_at };
  }

  async deleteSentOutbox(sentBefore: number, limit: number): Promise<number> {
    // By the index of sent rows: an unsent row (held back, dead-lettered key)
    // anywhere in the table does not stop pruning the sent rows after it.
    const rows = await this.read().all<{ seq: number }>(
      'SELECT seq FROM outbox WHERE sent_at IS NOT NULL AND sent_at < ? ORDER BY sent_at LIMIT ?',
      [sentBefore, limit],
    );
    const seqs = rows.map((r) => r.seq);
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
    await this.commitUnit({ statements });
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

  /** For the web console (messages/message-list.ts). */
  listMessages(query: MessageListQuery): Promise<MessageListPage> {
    return listMessages(this.read(), query);
  }

  countMessagesByState(): Promise<Map<MessageState, number>> {
    return countMessagesByState(this.read());
  }

  async syncPublishedMessages(limit: number): Promise<void> {
    await this.commitUnit({ statements: [syncPublishedStatement(limit)] });
  }

  async deleteMessagesDecidedBefore(before: number, limit: number): Promise<number> {
    const n = await countDecidedBefore(this.read(), before, limit);
    if (n === 0) return 0;
    await this.commitUnit({ statements: [deleteDecidedStatement(before, limit)] });
    return n;
  }

  /** Moves the durable key counter on by `count`; resolves with the block's first key. */
  private async reserveKeys(count: number): Promise<number> {
    const reservation: KeyReservation = { count };
    await this.commitUnit({ reserveKeys: reservation });
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
  private async writeBatch(units: readonly EncodedUnit[]): Promise<void> {
    if (this.writerThread !== undefined) await this.writerThread.write(units, false);
    else writeBatch(this.write(), units);
  }

  /** The batch again with each unit isolated (a savepoint each): a unit's own constraint failure is its WriteConflictError. */
  private async writeIsolated(units: readonly EncodedUnit[]): Promise<(Error | undefined)[]> {
    const errors = this.writerThread !== undefined ? ((await this.writerThread.write(units, true)) ?? []) : writeIsolated(this.write(), units);
    return errors.map((e) => (e === undefined ? undefined : new WriteConflictError(e)));
  }
}

function encodeUnit(u: StoreUnit): EncodedUnit {
  const inserts = (u.inserts ?? []).map((s): SqlParam[] => [
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
  ]);
  const journal = (u.journal ?? []).map((j): SqlParam[] => [j.key, j.seq, encodeJournalEvent(j.event)]);
  const updates = (u.updates ?? []).map((up): SqlParam[] => [
    up.key,
    up.state,
    up.updatedAt,
    up.finishedAt ?? null,
    up.failedStep,
    up.reason,
    up.note,
    up.version,
  ]);
  const outbox = (u.outbox ?? []).map((o): SqlParam[] => [o.id, o.subject, o.payload, JSON.stringify(o.headers), o.orderingKey, o.createdAt]);
  const statements = [...(u.statements ?? [])];
  if (u.messageInserts || u.messageUpdates) statements.push(...messageStatements(u.messageInserts ?? [], u.messageUpdates ?? []));
  const reservations = u.reserveKeys === undefined ? [] : [u.reserveKeys];
  const purge = u.purge ?? [];
  let bytes = purge.length * 8;
  for (const rows of [inserts, journal, updates, outbox]) for (const row of rows) bytes += paramBytes(row);
  for (const st of statements) bytes += st.sql.length + paramBytes(st.params);
  return { inserts, journal, updates, outbox, statements, purge, reservations, bytes };
}

function paramBytes(params: readonly SqlParam[]): number {
  let n = 0;
  for (const p of params) n += typeof p === 'string' || Buffer.isBuffer(p) ? p.length : 8;
  return n;
}

function toOutboxRow(r: OutboxRowDb): OutboxRow {
  return {
    seq: r.seq,
    id: r.id,
    subject: r.subject,
    payload: r.payload,
    headers: JSON.parse(r.headers) as Record<string, string>,
    orderingKey: r.ordering_key,
    createdAt: r.created_at,
  };
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

function toSummary(r: SummaryRowDb, kind: TransactionKind): SagaSummary {
  return {
    sagaId: r.id,
    name: r.name,
    kind,
    state: r.state,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    finishedAt: r.finished_at ?? undefined,
    failedStep: r.failed_step,
    failureReason: r.reason,
  };
}
