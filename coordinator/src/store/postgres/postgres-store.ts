// The shared store: PostgreSQL through a pool of the `pg` driver. Writes are
// group-committed: the units queued while a transaction is in flight go into
// the next one, each table written by one statement over UNNEST arrays (bound
// parameters, fixed texts prepared once per connection). With
// synchronous_commit on (the default) a unit resolves once its WAL is flushed:
// a call's intent is durable before the RPC, its result before what depends on it.
// Several coordinators may share the database: each registers an instance
// with a lease (postgres-instance-lease.ts), owns the sagas it created or
// claimed, and every write of a saga is fenced by its epoch
// (postgres-saga-ownership.ts). Every instance runs a relay publishing the
// outbox rows it owns (postgres-outbox-claims.ts).

import { hostname } from 'node:os';
import pg from 'pg';
import { invalidArgument } from '../../domain/errors.js';
import { decodeJournalEvent, encodeJournalEvent, type JournalEvent } from '../../domain/journal-event.js';
import type { ListSagasFilter, SagaState } from '../../domain/saga-types.js';
import type { MessageListPage, MessageListQuery } from '../../messages/message-list.js';
import type { MessageRecord, MessageState, MessageView } from '../../messages/message-types.js';
import { decodeDefinition, encodeDefinition } from '../definition-codec.js';
import { SagaKeyBlocks } from '../saga-key-blocks.js';
import { GroupCommitter } from '../group-commit.js';
import {
  FIRST_EPOCH,
  type ClaimedSaga,
  type DeadLetterRow,
  type ListSagasPage,
  type OutboxBacklog,
  type OutboxInsert,
  type OutboxRow,
  type SagaOwnership,
  type SagaRow,
  type SagaUpdate,
  type Store,
  type WriteUnit,
} from '../store.js';
import { WriteConflictError } from '../write-conflict-error.js';
import { countMessagesByStatePostgres, listMessagesPostgres } from './postgres-message-list.js';
import { migratePostgres } from './postgres-migrations.js';
import {
  countPreparedMessages,
  deleteMessagesDecidedBefore,
  claimPendingMessages,
  getMessage,
  syncPublishedMessages,
  viewMessage,
  writeMessages,
} from './postgres-messages.js';
import { DEFAULT_POSTGRES_SETTINGS, type PostgresSettings } from './postgres-settings.js';
import { InstanceLease } from './postgres-instance-lease.js';
import { claimOrphanOutbox } from './postgres-outbox-claims.js';
import { pruneInstances } from './postgres-instance-pruning.js';
import { claimOrphanKeys, fenceUnits, takeSagaKey, type QueuedUnit } from './postgres-saga-ownership.js';

export interface PostgresStoreOptions {
  /** postgres://user:password@host:port/database */
  readonly url: string;
  readonly settings?: Partial<PostgresSettings>;
  /** Observer of each committed batch: its oldest unit's wait in ms, its size, and the units left queued behind it (admission control's signal). */
  readonly onCommitBatch?: (oldestWaitMs: number, units: number, leftBehind: number, writeMs: number) => void;
  /** Observer of each unit's wait from commit() until it was released (a histogram). */
  readonly onCommitWait?: (waitMs: number) => void;
  /** The group commit's delay (group-commit.ts), ms: how long a small batch may wait for more units while they arrive fast. Default 0 (off). */
  readonly commitDelayMs?: number;
  /** An idle pooled connection failed (the next query on the pool reconnects). */
  readonly onPoolError?: (err: Error) => void;
  /** The readable prefix of this coordinator's instance ids. Default host:pid. */
  readonly instance?: string;
  /** Called once when a write failed and the store latched failed (the process should exit 1). */
  readonly onFailed?: (err: Error) => void;
  /** A lease renewal failed (the lease is not lost yet). */
  readonly onLeaseRenewError?: (err: Error) => void;
}

interface SagaRowDb {
  key: number;
  id: string;
  name: string;
  state: SagaState;
  createdAt: number;
  updatedAt: number;
  finishedAt: number | null;
  deadlineAt: number | null;
  definition: string;
  definitionHash: string;
  failedStep: string;
  reason: string;
  note: string;
  version: number;
  epoch: number;
  owner: string | null;
}

const SUMMARY_COLUMNS =
  'key, id, name, state, created_at AS "createdAt", updated_at AS "updatedAt", finished_at AS "finishedAt", failed_step AS "failedStep", reason';
const SAGA_COLUMNS = `${SUMMARY_COLUMNS}, deadline_at AS "deadlineAt", definition, definition_hash AS "definitionHash", note, version, epoch, owner`;
const FINISHED = "state IN ('COMPLETED', 'COMPENSATED', 'RESOLVED')";
/** Active sagas read per query at recovery. */
const RECOVERY_PAGE = 2_000;

const INSERT_SAGAS = `INSERT INTO sagas (key, id, name, state, created_at, updated_at, deadline_at, definition, definition_hash, owner, epoch)
  SELECT k, i, n, s, c, c, d, def, h, o, ${FIRST_EPOCH}
    FROM UNNEST($1::bigint[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::bigint[], $7::text[], $8::text[], $9::text[])
      AS v(k, i, n, s, c, d, def, h, o)`;
const INSERT_JOURNAL = `INSERT INTO journal (saga_key, seq, data) SELECT * FROM UNNEST($1::bigint[], $2::integer[], $3::text[])`;
const UPDATE_SAGAS = `UPDATE sagas SET state = v.s, updated_at = v.u, finished_at = v.f, failed_step = v.fs, reason = v.r, note = v.n, version = v.ver
  FROM UNNEST($1::bigint[], $2::text[], $3::bigint[], $4::bigint[], $5::text[], $6::text[], $7::text[], $8::integer[]) AS v(k, s, u, f, fs, r, n, ver)
  WHERE sagas.key = v.k`;
// WITH ORDINALITY … ORDER BY: seq follows the order the units were committed in.
// The owner of each row is the instance that wrote it: its relay publishes the row.
const INSERT_OUTBOX = `INSERT INTO outbox (id, subject, payload, headers, ordering_key, created_at, owner)
  SELECT i, s, p, h, o, c, w
    FROM UNNEST($1::text[], $2::text[], $3::bytea[], $4::text[], $5::text[], $6::bigint[], $7::text[]) WITH ORDINALITY AS v(i, s, p, h, o, c, w, ord)
   ORDER BY ord`;

/** int8 (bigint) as a JS number: keys, times and counts stay far below 2^53. */
const INT8_OID = 20;
const TYPES = {
  getTypeParser(oid: number, format?: 'text' | 'binary'): (value: string) => unknown {
    if (oid === INT8_OID) return (v: string) => Number(v);
    return pg.types.getTypeParser(oid, format ?? 'text') as (value: string) => unknown;
  },
};

export class PostgresStore implements Store {
  private pool: pg.Pool | undefined;
  private lease: InstanceLease | undefined;
  private readonly settings: PostgresSettings;
  private readonly committer: GroupCommitter<QueuedUnit>;
  private readonly keys = new SagaKeyBlocks({ reserve: (count) => this.reserveKeys(count) });
  private readonly failedListeners: ((err: Error) => void)[] = [];

  constructor(private readonly options: PostgresStoreOptions) {
    this.settings = { ...DEFAULT_POSTGRES_SETTINGS, ...options.settings };
    this.committer = new GroupCommitter({
      maxBatch: this.settings.maxBatch,
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

  async open(): Promise<void> {
    const connection: pg.ClientConfig = {
      connectionString: this.options.url,
      // A transaction left idle for a whole lease is a paused coordinator's: the server ends it, so that its
      // row locks do not keep other instances from claiming the sagas it held.
      options:
        `-c synchronous_commit=${this.settings.synchronousCommit} -c statement_timeout=${this.settings.statementTimeoutMs}` +
        ` -c idle_in_transaction_session_timeout=${this.settings.leaseMs}`,
      types: TYPES,
    };
    const pool = new pg.Pool({ ...connection, max: this.settings.poolSize });
    pool.on('error', (err) => this.options.onPoolError?.(err));
    try {
      const client = await pool.connect();
      try {
        await migratePostgres(client);
      } finally {
        client.release();
      }
      const lease = new InstanceLease({
        connection,
        name: this.options.instance ?? `${hostname()}:${process.pid}`,
        leaseMs: this.settings.leaseMs,
        onRenewError: this.options.onLeaseRenewError,
      });
      await lease.start();
      this.lease = lease;
    } catch (err) {
      await pool.end();
      throw err;
    }
    this.pool = pool;
  }

  /** Waits for queued writes, ends this instance's lease (others claim what it still owns at once), then closes. */
  async close(): Promise<void> {
    await this.keys.idle();
    await this.committer.idle();
    await this.lease?.release();
    this.lease = undefined;
    await this.pool?.end();
    this.pool = undefined;
  }

  readonly ownership: SagaOwnership = {
    instanceId: () => this.instance(),
    claimOrphans: async (limit, visit) => {
      const keys = await this.transaction((tx) => claimOrphanKeys(tx, this.instance(), limit));
      await this.loadSagas(keys, visit);
      return keys.length;
    },
    takeSaga: async (id) => {
      const key = await this.transaction((tx) => takeSagaKey(tx, this.instance(), id));
      if (key === undefined) return undefined;
      let taken: ClaimedSaga | undefined;
      await this.loadSagas([key], (c) => (taken = c));
      return taken;
    },
    claimMessages: (limit, visit) => claimPendingMessages(this.db(), this.instance(), limit, visit),
    claimOrphanOutbox: (limit) => this.transaction((tx) => claimOrphanOutbox(tx, this.instance(), limit)),
    pruneInstances: () => this.transaction((tx) => pruneInstances(tx, this.settings.instanceRetentionLeases * this.settings.leaseMs)),
    onLeaseLost: (listener) => {
      if (this.lease === undefined) throw new Error('PostgresStore is not open');
      this.lease.onLost(listener);
    },
  };

  /** Lease renewals so far (the heartbeat of this instance). */
  leaseRenewals(): number {
    return this.lease?.renewalCount() ?? 0;
  }

  private instance(): string {
    if (this.lease === undefined) throw new Error('PostgresStore is not open');
    return this.lease.current();
  }

  nextSagaKey(): Promise<number> {
    return this.keys.next();
  }

  commit(unit: WriteUnit): Promise<void> {
    // The owner of the sagas it inserts is the instance accepting them now (not after a lost lease's re-registration).
    return this.committer.commit({ unit, owner: this.lease?.current() ?? '' });
  }

  /** The write failure the store latched on, if any: nothing is written after it. */
  failure(): Error | undefined {
    return this.committer.failed()?.cause;
  }

  onFailed(listener: (err: Error) => void): void {
    const failed = this.failure();
    if (failed !== undefined) listener(failed);
    else this.failedListeners.push(listener);
  }

  oldestPendingCommitMs(): number {
    return this.committer.oldestWaitingMs();
  }

  commitStats(): { batches: number; units: number } {
    return this.committer.stats();
  }

  async getSagaRow(id: string): Promise<SagaRow | undefined> {
    const r = await this.db().query<SagaRowDb>({ name: 'saga-by-id', text: `SELECT ${SAGA_COLUMNS} FROM sagas WHERE id = $1`, values: [id] });
    return r.rows[0] === undefined ? undefined : toSagaRow(r.rows[0]);
  }

  async getJournal(key: number): Promise<JournalEvent[]> {
    const r = await this.db().query<{ data: string }>({
      name: 'journal-of',
      text: 'SELECT data FROM journal WHERE saga_key = $1 ORDER BY seq',
      values: [key],
    });
    return r.rows.map((row) => decodeJournalEvent(row.data));
  }

  /**
   * At start: claims the orphans (active sagas of instances whose lease
   * expired, or with no owner) in batches, and loads them. The sagas of a
   * coordinator killed just now are claimed once its lease expires, by the
   * periodic claim of whichever instance comes first.
   */
  async loadActiveSagas(visit: (row: SagaRow, events: JournalEvent[]) => void): Promise<number> {
    let total = 0;
    for (;;) {
      const n = await this.ownership.claimOrphans(RECOVERY_PAGE, (c) => visit(c.row, c.events));
      total += n;
      if (n < RECOVERY_PAGE) return total;
    }
  }

  /** Reads the sagas of `keys` (ascending) with their journals, a page at a time. */
  private async loadSagas(keys: readonly number[], visit: (saga: ClaimedSaga) => void): Promise<void> {
    for (let i = 0; i < keys.length; i += RECOVERY_PAGE) {
      const page = keys.slice(i, i + RECOVERY_PAGE);
      const r = await this.db().query<SagaRowDb>(`SELECT ${SAGA_COLUMNS} FROM sagas WHERE key = ANY($1::bigint[]) ORDER BY key`, [page]);
      const journals = new Map<number, JournalEvent[]>(r.rows.map((row) => [row.key, []]));
      const j = await this.db().query<{ saga_key: number; data: string }>(
        'SELECT saga_key, data FROM journal WHERE saga_key = ANY($1::bigint[]) ORDER BY saga_key, seq',
        [page],
      );
      for (const row of j.rows) journals.get(row.saga_key)?.push(decodeJournalEvent(row.data));
      for (const row of r.rows) visit({ row: toSagaRow(row), events: journals.get(row.key) ?? [] });
    }
  }

  async listSagas(filter: ListSagasFilter): Promise<ListSagasPage> {
    const where: string[] = [];
    const params: unknown[] = [];
    const param = (v: unknown): string => {
      params.push(v);
      return `$${params.length}`;
    };
    if (filter.states.length > 0) where.push(`state = ANY(${param(filter.states)}::text[])`);
    if (filter.name !== '') where.push(`name = ${param(filter.name)}`);
    if (filter.createdAfter !== undefined) where.push(`created_at >= ${param(filter.createdAfter)}`);
    if (filter.createdBefore !== undefined) where.push(`created_at < ${param(filter.createdBefore)}`);
    if (filter.pageToken !== '') {
      const before = /^[0-9a-z]{1,11}$/.test(filter.pageToken) ? Number.parseInt(filter.pageToken, 36) : Number.NaN;
      if (!Number.isSafeInteger(before) || before <= 0) throw invalidArgument('page_token', 'not a token from ListSagas');
      where.push(`key < ${param(before)}`);
    }
    const limit = param(filter.pageSize + 1);
    // The kind is read from the stored definition ("k": 1 = TCC, see definition-codec.ts).
    const r = await this.db().query<SagaRowDb & { tcc: string | null }>(
      `SELECT ${SUMMARY_COLUMNS}, definition::jsonb ->> 'k' AS tcc FROM sagas ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY key DESC LIMIT ${limit}`,
      params,
    );
    const more = r.rows.length > filter.pageSize;
    const page = more ? r.rows.slice(0, filter.pageSize) : r.rows;
    const last = page.at(-1);
    return {
      sagas: page.map((s) => ({
        sagaId: s.id,
        name: s.name,
        kind: s.tcc === '1' ? ('TCC' as const) : ('SAGA' as const),
        state: s.state,
        createdAt: s.createdAt,
        updatedAt: s.updatedAt,
        finishedAt: s.finishedAt ?? undefined,
        failedStep: s.failedStep,
        failureReason: s.reason,
      })),
      nextPageToken: more && last !== undefined ? last.key.toString(36) : '',
    };
  }

  async deleteFinishedBefore(before: number, limit: number): Promise<number> {
    // Oldest first over the partial index of finished sagas; journal with them, in one statement.
    const r = await this.db().query<{ n: number }>(
      `WITH gone AS (
         DELETE FROM sagas WHERE key IN (
           SELECT key FROM sagas WHERE finished_at IS NOT NULL AND finished_at < $1 AND ${FINISHED} ORDER BY finished_at LIMIT $2)
         RETURNING key),
       journal_gone AS (DELETE FROM journal WHERE saga_key IN (SELECT key FROM gone))
       SELECT count(*)::int AS n FROM gone`,
      [before, limit],
    );
    return r.rows[0]?.n ?? 0;
  }

  async countByState(): Promise<Map<SagaState, number>> {
    const r = await this.db().query<{ state: SagaState; n: number }>('SELECT state, count(*)::int AS n FROM sagas GROUP BY state');
    return new Map(r.rows.map((row) => [row.state, row.n]));
  }

  listMessages(query: MessageListQuery): Promise<MessageListPage> {
    return listMessagesPostgres(this.db(), query);
  }

  countMessagesByState(): Promise<Map<MessageState, number>> {
    return countMessagesByStatePostgres(this.db());
  }

  async readPendingOutbox(afterSeq: number, limit: number): Promise<OutboxRow[]> {
    const r = await this.db().query<{
      seq: number;
      id: string;
      subject: string;
      payload: Buffer;
      headers: string;
      orderingKey: string;
      createdAt: number;
    }>({
      name: 'outbox-pending',
      // This instance's relay publishes the rows this instance owns (postgres-outbox-claims.ts).
      text: `SELECT seq, id, subject, payload, headers, ordering_key AS "orderingKey", created_at AS "createdAt" FROM outbox
              WHERE sent_at IS NULL AND owner = $3 AND seq > $1
                AND NOT EXISTS (SELECT 1 FROM outbox_dead_letters d WHERE d.ordering_key = outbox.ordering_key)
              ORDER BY seq LIMIT $2`,
      values: [afterSeq, limit, this.instance()],
    });
    return r.rows.map((row) => ({ ...row, headers: JSON.parse(row.headers) as Record<string, string> }));
  }

  async markOutboxSent(seqs: readonly number[], sentAt: number): Promise<void> {
    if (seqs.length === 0) return;
    await this.db().query('UPDATE outbox SET sent_at = $1 WHERE seq = ANY($2::bigint[])', [sentAt, seqs]);
  }

  async outboxBacklog(): Promise<OutboxBacklog> {
    const r = await this.db().query<{ n: number; oldest: number | null }>(
      `SELECT (SELECT count(*)::int FROM outbox WHERE sent_at IS NULL) AS n,
              (SELECT created_at FROM outbox WHERE sent_at IS NULL ORDER BY seq LIMIT 1) AS oldest`,
    );
    return { unsent: r.rows[0]?.n ?? 0, oldestCreatedAt: r.rows[0]?.oldest ?? undefined };
  }

  async deleteSentOutbox(sentBefore: number, limit: number): Promise<number> {
    // By the index of sent rows: an unsent row (held back, dead-lettered key) does not stop pruning.
    const r = await this.db().query(
      'DELETE FROM outbox WHERE seq IN (SELECT seq FROM outbox WHERE sent_at IS NOT NULL AND sent_at < $1 ORDER BY sent_at LIMIT $2)',
      [sentBefore, limit],
    );
    return r.rowCount ?? 0;
  }

  async deadLetterOutbox(
    row: OutboxRow,
    failure: { readonly at: number; readonly attempts: number; readonly error: string },
    alert: OutboxInsert | undefined,
  ): Promise<boolean> {
    return this.transaction(async (tx) => {
      const moved = await tx.query(
        `WITH gone AS (DELETE FROM outbox WHERE seq = $1 AND sent_at IS NULL RETURNING seq, id, subject, payload, headers, ordering_key, created_at)
         INSERT INTO outbox_dead_letters (seq, id, subject, payload, headers, ordering_key, created_at, failed_at, attempts, error)
         SELECT seq, id, subject, payload, headers, ordering_key, created_at, $2, $3, $4 FROM gone ON CONFLICT DO NOTHING`,
        [row.seq, failure.at, failure.attempts, failure.error],
      );
      if ((moved.rowCount ?? 0) === 0) return false;
      if (alert !== undefined) await this.writeUnits(tx, [{ unit: { outbox: [alert] }, owner: this.instance() }]);
      return true;
    });
  }

  async listDeadLetters(afterSeq: number, limit: number): Promise<DeadLetterRow[]> {
    const r = await this.db().query<{
      seq: number;
      id: string;
      subject: string;
      payload: Buffer;
      headers: string;
      orderingKey: string;
      createdAt: number;
      failedAt: number;
      attempts: number;
      error: string;
      waitingBehind: number;
    }>(
      `SELECT d.seq, d.id, d.subject, d.payload, d.headers, d.ordering_key AS "orderingKey", d.created_at AS "createdAt",
              d.failed_at AS "failedAt", d.attempts, d.error,
              (SELECT count(*)::int FROM outbox o WHERE o.ordering_key = d.ordering_key AND o.sent_at IS NULL) AS "waitingBehind"
         FROM outbox_dead_letters d WHERE d.seq > $1 ORDER BY d.seq LIMIT $2`,
      [afterSeq, limit],
    );
    return r.rows.map((row) => ({ ...row, headers: JSON.parse(row.headers) as Record<string, string> }));
  }

  replayDeadLetter(id: string): Promise<boolean> {
    return this.transaction(async (tx) => {
      const r = await tx.query<{ n: number }>(
        `WITH back AS (DELETE FROM outbox_dead_letters WHERE id = $1 RETURNING seq, id, subject, payload, headers, ordering_key, created_at),
              -- Owned where the rows of its key are (the latest unsent one's owner, else its active saga's), else here:
              -- one relay publishes the key's rows, this one first.
              restored AS (
                INSERT INTO outbox (seq, id, subject, payload, headers, ordering_key, created_at, owner)
                SELECT b.*, COALESCE(
                         (SELECT o.owner FROM outbox o WHERE o.ordering_key = b.ordering_key AND o.sent_at IS NULL ORDER BY o.seq DESC LIMIT 1),
                         (SELECT s.owner FROM sagas s WHERE s.id = b.ordering_key AND s.state IN ('RUNNING', 'COMPENSATING')),
                         $2)
                  FROM back b ON CONFLICT DO NOTHING)
         SELECT count(*)::int AS n FROM back`,
        [id, this.instance()],
      );
      return (r.rows[0]?.n ?? 0) > 0;
    });
  }

  dropDeadLetter(id: string): Promise<boolean> {
    return this.transaction(async (tx) => ((await tx.query('DELETE FROM outbox_dead_letters WHERE id = $1', [id])).rowCount ?? 0) > 0);
  }

  async countDeadLetters(): Promise<number> {
    return (await this.db().query<{ n: number }>('SELECT count(*)::int AS n FROM outbox_dead_letters')).rows[0]?.n ?? 0;
  }

  async dropOldestUnsentOutbox(count: number, subjectPrefixes: readonly string[]): Promise<number> {
    if (count <= 0 || subjectPrefixes.length === 0) return 0;
    const r = await this.db().query(
      `DELETE FROM outbox WHERE seq IN (
         SELECT seq FROM outbox WHERE sent_at IS NULL AND EXISTS (SELECT 1 FROM unnest($1::text[]) p WHERE starts_with(subject, p))
          ORDER BY seq LIMIT $2)`,
      [subjectPrefixes, count],
    );
    return r.rowCount ?? 0;
  }

  async outboxHas(id: string): Promise<boolean> {
    const r = await this.db().query('SELECT 1 FROM outbox WHERE id = $1', [id]);
    return r.rows.length > 0;
  }

  getMessage(id: string): Promise<MessageRecord | undefined> {
    return getMessage(this.db(), id);
  }

  viewMessage(id: string, deliveryId: string): Promise<MessageView | undefined> {
    return viewMessage(this.db(), id, deliveryId);
  }

  /** At start: claims the pending messages of expired instances (and those with no owner) and visits them. */
  async loadPendingMessages(visit: (id: string, wakeAt: number, state: MessageState) => void): Promise<number> {
    let total = 0;
    for (;;) {
      const n = await this.ownership.claimMessages(RECOVERY_PAGE, visit);
      total += n;
      if (n < RECOVERY_PAGE) return total;
    }
  }

  countPreparedMessages(): Promise<number> {
    return countPreparedMessages(this.db());
  }

  syncPublishedMessages(limit: number): Promise<void> {
    return syncPublishedMessages(this.db(), limit);
  }

  deleteMessagesDecidedBefore(before: number, limit: number): Promise<number> {
    return deleteMessagesDecidedBefore(this.db(), before, limit);
  }

  private db(): pg.Pool {
    if (this.pool === undefined) throw new Error('PostgresStore is not open');
    return this.pool;
  }

  /** Moves the durable key counter on by `count` (its own committed transaction); resolves with the block's first key. */
  private async reserveKeys(count: number): Promise<number> {
    const r = await this.db().query<{ value: number }>("UPDATE counters SET value = value + $1 WHERE name = 'saga_key' RETURNING value", [count]);
    const last = r.rows[0]?.value;
    if (last === undefined) throw new Error('PostgresStore: the saga_key counter is missing');
    return last - count + 1;
  }

  /** One transaction for a whole batch of units, one statement per table; units of fenced sagas are refused alone. */
  private writeBatch(units: readonly QueuedUnit[]): Promise<(Error | undefined)[] | undefined> {
    return this.transaction(async (tx) => {
      const refused = await fenceUnits(tx, units);
      await this.writeUnits(tx, refused === undefined ? units : units.filter((_, i) => refused[i] === undefined));
      return refused;
    });
  }

  /** The batch again, each unit in a savepoint: a unit failing on its own constraint gets its error, the others commit. */
  private writeIsolated(units: readonly QueuedUnit[]): Promise<(Error | undefined)[]> {
    return this.transaction(async (tx) => {
      const refused = await fenceUnits(tx, units);
      const errors: (Error | undefined)[] = [];
      for (const [i, unit] of units.entries()) {
        const fenced = refused?.[i];
        if (fenced !== undefined) {
          errors.push(fenced);
          continue;
        }
        await tx.query('SAVEPOINT unit');
        try {
          await this.writeUnits(tx, [unit]);
          await tx.query('RELEASE SAVEPOINT unit');
          errors.push(undefined);
        } catch (err) {
          if (!isConstraintError(err)) throw err;
          await tx.query('ROLLBACK TO SAVEPOINT unit');
          errors.push(new WriteConflictError(err instanceof Error ? err : new Error(String(err))));
        }
      }
      return errors;
    });
  }

  /** Runs `work` in one transaction on a pooled connection. */
  private async transaction<T>(work: (tx: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await this.db().connect();
    let broken: Error | undefined;
    try {
      await client.query('BEGIN');
      try {
        const result = await work(client);
        await client.query('COMMIT');
        return result;
      } catch (err) {
        await client.query('ROLLBACK').catch((e: unknown) => {
          broken = e instanceof Error ? e : new Error(String(e));
        });
        throw err;
      }
    } finally {
      // A connection that could not roll back is dropped, not reused.
      client.release(broken);
    }
  }

  private async writeUnits(client: pg.PoolClient, queued: readonly QueuedUnit[]): Promise<void> {
    const units = queued.map((q) => q.unit);
    const inserts = queued.flatMap((q) => (q.unit.inserts ?? []).map((insert) => ({ ...insert, owner: q.owner })));
    const journal = units.flatMap((u) => u.journal ?? []);
    // The latest summary of a saga wins; UPDATE … FROM must not see a key twice.
    const updates = new Map<number, SagaUpdate>();
    for (const u of units) for (const up of u.updates ?? []) updates.set(up.key, up);
    const outbox = queued.flatMap((q) => (q.unit.outbox ?? []).map((row) => ({ ...row, owner: q.owner })));
    if (inserts.length > 0) {
      await client.query({
        name: 'saga-insert',
        text: INSERT_SAGAS,
        values: [
          inserts.map((s) => s.key),
          inserts.map((s) => s.id),
          inserts.map((s) => s.definition.name),
          inserts.map((s) => s.state),
          inserts.map((s) => s.createdAt),
          inserts.map((s) => s.deadlineAt ?? null),
          inserts.map((s) => encodeDefinition(s.definition)),
          inserts.map((s) => s.definitionHash),
          inserts.map((s) => s.owner),
        ],
      });
    }
    if (journal.length > 0) {
      await client.query({
        name: 'journal-insert',
        text: INSERT_JOURNAL,
        values: [journal.map((j) => j.key), journal.map((j) => j.seq), journal.map((j) => encodeJournalEvent(j.event))],
      });
    }
    if (updates.size > 0) {
      const ups = [...updates.values()];
      await client.query({
        name: 'saga-update',
        text: UPDATE_SAGAS,
        values: [
          ups.map((u) => u.key),
          ups.map((u) => u.state),
          ups.map((u) => u.updatedAt),
          ups.map((u) => u.finishedAt ?? null),
          ups.map((u) => u.failedStep),
          ups.map((u) => u.reason),
          ups.map((u) => u.note),
          ups.map((u) => u.version),
        ],
      });
    }
    if (outbox.length > 0) {
      await client.query({
        name: 'outbox-insert',
        text: INSERT_OUTBOX,
        values: [
          outbox.map((o) => o.id),
          outbox.map((o) => o.subject),
          outbox.map((o) => o.payload),
          outbox.map((o) => JSON.stringify(o.headers)),
          outbox.map((o) => o.orderingKey),
          outbox.map((o) => o.createdAt),
          outbox.map((o) => o.owner),
        ],
      });
    }
    for (const q of queued) {
      const u = q.unit;
      if (u.messageInserts || u.messageUpdates) await writeMessages(client, u.messageInserts ?? [], u.messageUpdates ?? [], q.owner);
    }
  }
}

/** A uniqueness or other integrity constraint (SQLSTATE class 23): one unit's own failure. */
function isConstraintError(err: unknown): boolean {
  return typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string' && err.code.startsWith('23');
}

function toSagaRow(r: SagaRowDb): SagaRow {
  return {
    ...r,
    finishedAt: r.finishedAt ?? undefined,
    deadlineAt: r.deadlineAt ?? undefined,
    definition: decodeDefinition(r.definition),
    owner: r.owner ?? undefined,
  };
}
