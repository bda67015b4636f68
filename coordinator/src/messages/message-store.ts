// The tx_messages table (migration 2) in the coordinator's SQLite file. Writes
// join the store's group-committed transactions; every statement is
// conditional (on absence or on the version it expects) so it never fails a
// batch, and has a fixed text (the writer caches prepared statements by text).
// Reads go through the store's read connection.

import type { SqliteConnection, SqlParam } from '../store/sqlite/sqlite-connection.js';
import type { SqlStatement, SqliteStore } from '../store/sqlite/sqlite-store.js';
import { deliveryOutboxId } from './message-outbox.js';
import type { MessageRecord, MessageState, MessageView } from './message-types.js';

interface MessageRowDb {
  id: string;
  subject: string;
  msg_key: string;
  headers: string;
  producer: string;
  check_after_ms: number;
  check_interval_ms: number;
  max_checks: number;
  check_timeout_ms: number;
  content_hash: string;
  state: MessageState;
  checks: number;
  created_at: number;
  decided_at: number | null;
  deliver_at: number | null;
  next_check_at: number | null;
  enqueued_at: number | null;
  published_at: number | null;
  reason: string;
  version: number;
}

const COLUMNS = [
  'id', 'subject', 'msg_key', 'headers', 'producer', 'check_after_ms', 'check_interval_ms', 'max_checks', 'check_timeout_ms',
  'content_hash', 'state', 'checks', 'created_at', 'decided_at', 'deliver_at', 'next_check_at', 'enqueued_at', 'published_at',
  'reason', 'version',
];
const RECORD_COLUMNS = COLUMNS.join(', ');
const INSERT_COLUMNS = ['payload', ...COLUMNS].join(', ');

export class MessageStore {
  /** `store` must be open. */
  constructor(private readonly store: SqliteStore) {}

  /** Makes the statements durable in one (group-committed) transaction. */
  commit(statements: readonly SqlStatement[]): Promise<void> {
    return this.store.commit({ statements });
  }

  async get(id: string): Promise<MessageRecord | undefined> {
    const rows = await this.read().all<MessageRowDb>(`SELECT ${RECORD_COLUMNS} FROM tx_messages WHERE id = ?`, [id]);
    return rows[0] === undefined ? undefined : toRecord(rows[0]);
  }

  /** The message with its payload; published_at from the outbox while the sent row is still kept. */
  async view(id: string): Promise<MessageView | undefined> {
    const rows = await this.read().all<MessageRowDb & { payload: Buffer; sent_at: number | null }>(
      `SELECT ${COLUMNS.map((c) => `m.${c}`).join(', ')}, m.payload, o.sent_at
         FROM tx_messages m LEFT JOIN outbox o ON o.id = ? WHERE m.id = ?`,
      [deliveryOutboxId(id), id],
    );
    const row = rows[0];
    if (row === undefined) return undefined;
    const record = toRecord(row);
    return { ...record, publishedAt: record.publishedAt ?? row.sent_at ?? undefined, payload: row.payload };
  }

  /** Every message that still needs the coordinator: PREPARED, or COMMITTED and not yet in the outbox. */
  async loadPending(visit: (id: string, wakeAt: number, state: MessageState) => void): Promise<number> {
    let n = 0;
    await this.read().each<{ id: string; at: number | null; state: MessageState }>(
      `SELECT id, next_check_at AS at, state FROM tx_messages WHERE state = 'PREPARED'
       UNION ALL
       SELECT id, deliver_at AS at, state FROM tx_messages WHERE state = 'COMMITTED' AND enqueued_at IS NULL`,
      [],
      (r) => {
        n += 1;
        visit(r.id, r.at ?? 0, r.state);
      },
    );
    return n;
  }

  /** Whether an outbox row (a coordinator event) already has this id. */
  async outboxHas(id: string): Promise<boolean> {
    const rows = await this.read().all<{ one: number }>('SELECT 1 AS one FROM outbox WHERE id = ?', [id]);
    return rows.length > 0;
  }

  async countPrepared(): Promise<number> {
    const rows = await this.read().all<{ n: number }>("SELECT COUNT(*) AS n FROM tx_messages WHERE state = 'PREPARED'");
    return rows[0]?.n ?? 0;
  }

  /** Copies sent_at of published deliveries into published_at (the relay prunes sent outbox rows). */
  async syncPublished(limit: number): Promise<void> {
    await this.commit([
      {
        sql: `UPDATE tx_messages SET published_at = o.sent_at
                FROM outbox o
               WHERE o.id = tx_messages.id AND o.sent_at IS NOT NULL
                 AND tx_messages.id IN (SELECT id FROM tx_messages
                                         WHERE enqueued_at IS NOT NULL AND published_at IS NULL
                                         ORDER BY enqueued_at LIMIT ?)`,
        params: [limit],
      },
    ]);
  }

  /** Deletes up to `limit` messages decided before `before` that need nothing more; about how many were deleted. */
  async deleteDecidedBefore(before: number, limit: number): Promise<number> {
    const expired = `SELECT id FROM tx_messages WHERE decided_at IS NOT NULL AND decided_at < ?
        AND (state IN ('ROLLED_BACK', 'DISCARDED') OR (state = 'COMMITTED' AND enqueued_at IS NOT NULL)) LIMIT ?`;
    const rows = await this.read().all<{ n: number }>(`SELECT COUNT(*) AS n FROM (${expired})`, [before, limit]);
    const n = rows[0]?.n ?? 0;
    if (n === 0) return 0;
    await this.commit([{ sql: `DELETE FROM tx_messages WHERE id IN (${expired})`, params: [before, limit] }]);
    return n;
  }

  private read(): SqliteConnection {
    return this.store.readConnection();
  }
}

/** Inserts a new message; ignored if the id exists (the caller checked under its lock). */
export function insertStatement(m: MessageRecord, payload: Buffer): SqlStatement {
  const params: SqlParam[] = [
    payload,
    m.id,
    m.subject,
    m.key,
    JSON.stringify(m.headers),
    m.producer,
    m.policy.checkAfterMs,
    m.policy.checkIntervalMs,
    m.policy.maxChecks,
    m.policy.checkTimeoutMs,
    m.contentHash,
    m.state,
    m.checks,
    m.createdAt,
    m.decidedAt ?? null,
    m.deliverAt ?? null,
    m.nextCheckAt ?? null,
    m.enqueuedAt ?? null,
    m.publishedAt ?? null,
    m.reason,
    m.version,
  ];
  return {
    sql: `INSERT OR IGNORE INTO tx_messages (${INSERT_COLUMNS}) VALUES (${params.map(() => '?').join(', ')})`,
    params,
  };
}

/** Writes the changing columns of `next`, only over the version it was decided from. */
export function updateStatement(next: MessageRecord, fromVersion: number): SqlStatement {
  return {
    sql: `UPDATE tx_messages SET state = ?, checks = ?, decided_at = ?, next_check_at = ?, enqueued_at = ?, reason = ?, version = ?
           WHERE id = ? AND version = ?`,
    params: [
      next.state,
      next.checks,
      next.decidedAt ?? null,
      next.nextCheckAt ?? null,
      next.enqueuedAt ?? null,
      next.reason,
      next.version,
      next.id,
      fromVersion,
    ],
  };
}

function toRecord(r: MessageRowDb): MessageRecord {
  return {
    id: r.id,
    subject: r.subject,
    key: r.msg_key,
    headers: JSON.parse(r.headers) as Record<string, string>,
    producer: r.producer,
    policy: {
      checkAfterMs: r.check_after_ms,
      checkIntervalMs: r.check_interval_ms,
      maxChecks: r.max_checks,
      checkTimeoutMs: r.check_timeout_ms,
    },
    contentHash: r.content_hash,
    state: r.state,
    checks: r.checks,
    createdAt: r.created_at,
    decidedAt: r.decided_at ?? undefined,
    deliverAt: r.deliver_at ?? undefined,
    nextCheckAt: r.next_check_at ?? undefined,
    enqueuedAt: r.enqueued_at ?? undefined,
    publishedAt: r.published_at ?? undefined,
    reason: r.reason,
    version: r.version,
  };
}
