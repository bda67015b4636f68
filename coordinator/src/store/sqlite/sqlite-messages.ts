// The tx_messages table (migration 2) of transactional messages, for
// SqliteStore: reads on its read connection, and writes as statements joining
// its group-committed transactions. Every statement is conditional (on absence
// or on the version it expects) so it never fails a batch, and has a fixed
// text (the writer caches prepared statements by text).

import type { MessageRecord, MessageState, MessageView } from '../../messages/message-types.js';
import type { MessageInsert, MessageUpdate, OutboxInsert } from '../store.js';
import type { SqliteConnection, SqlParam } from './sqlite-connection.js';

/** A statement joining the group-committed transaction. */
export interface SqlStatement {
  readonly sql: string;
  readonly params: readonly SqlParam[];
}

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

export async function getMessage(db: SqliteConnection, id: string): Promise<MessageRecord | undefined> {
  const rows = await db.all<MessageRowDb>(`SELECT ${RECORD_COLUMNS} FROM tx_messages WHERE id = ?`, [id]);
  return rows[0] === undefined ? undefined : toRecord(rows[0]);
}

export async function viewMessage(db: SqliteConnection, id: string, deliveryId: string): Promise<MessageView | undefined> {
  const rows = await db.all<MessageRowDb & { payload: Buffer; sent_at: number | null }>(
    `SELECT ${COLUMNS.map((c) => `m.${c}`).join(', ')}, m.payload, o.sent_at
       FROM tx_messages m LEFT JOIN outbox o ON o.id = ? WHERE m.id = ?`,
    [deliveryId, id],
  );
  const row = rows[0];
  if (row === undefined) return undefined;
  const record = toRecord(row);
  return { ...record, publishedAt: record.publishedAt ?? row.sent_at ?? undefined, payload: row.payload };
}

export async function loadPendingMessages(
  db: SqliteConnection,
  visit: (id: string, wakeAt: number, state: MessageState) => void,
): Promise<number> {
  let n = 0;
  await db.each<{ id: string; at: number | null; state: MessageState }>(
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

export async function countPreparedMessages(db: SqliteConnection): Promise<number> {
  const rows = await db.all<{ n: number }>("SELECT COUNT(*) AS n FROM tx_messages WHERE state = 'PREPARED'");
  return rows[0]?.n ?? 0;
}

/** Copies sent_at of published deliveries into published_at. */
export function syncPublishedStatement(limit: number): SqlStatement {
  return {
    sql: `UPDATE tx_messages SET published_at = o.sent_at
            FROM outbox o
           WHERE o.id = tx_messages.id AND o.sent_at IS NOT NULL
             AND tx_messages.id IN (SELECT id FROM tx_messages
                                     WHERE enqueued_at IS NOT NULL AND published_at IS NULL
                                     ORDER BY enqueued_at LIMIT ?)`,
    params: [limit],
  };
}

const EXPIRED = `SELECT id FROM tx_messages WHERE decided_at IS NOT NULL AND decided_at < ?
    AND (state IN ('ROLLED_BACK', 'DISCARDED') OR (state = 'COMMITTED' AND enqueued_at IS NOT NULL)) LIMIT ?`;

/** How many messages deleteDecidedStatement would delete (about: more may expire meanwhile). */
export async function countDecidedBefore(db: SqliteConnection, before: number, limit: number): Promise<number> {
  const rows = await db.all<{ n: number }>(`SELECT COUNT(*) AS n FROM (${EXPIRED})`, [before, limit]);
  return rows[0]?.n ?? 0;
}

export function deleteDecidedStatement(before: number, limit: number): SqlStatement {
  return { sql: `DELETE FROM tx_messages WHERE id IN (${EXPIRED})`, params: [before, limit] };
}

/** The statements of a unit's message writes, in order: each update, then its outbox rows. */
export function messageStatements(inserts: readonly MessageInsert[], updates: readonly MessageUpdate[]): SqlStatement[] {
  const out: SqlStatement[] = inserts.map((i) => insertStatement(i.record, i.payload));
  for (const u of updates) {
    out.push(updateStatement(u.next, u.fromVersion));
    if (u.delivery !== undefined) out.push(deliveryStatement(u.next, u.delivery));
    if (u.alert !== undefined) out.push(alertStatement(u.next, u.alert));
  }
  return out;
}

/** Inserts a new message; ignored if the id exists (the caller checked under its lock). */
function insertStatement(m: MessageRecord, payload: Buffer): SqlStatement {
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
function updateStatement(next: MessageRecord, fromVersion: number): SqlStatement {
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

/** Copies the committed message (payload from its row, never held in memory) into the outbox. */
function deliveryStatement(m: MessageRecord, d: NonNullable<MessageUpdate['delivery']>): SqlStatement {
  return {
    sql: `INSERT OR IGNORE INTO outbox (id, subject, payload, headers, ordering_key, created_at)
          SELECT ?, subject, payload, ?, ?, ? FROM tx_messages WHERE id = ? AND version = ? AND state = 'COMMITTED'`,
    params: [d.outboxId, JSON.stringify(d.headers), d.orderingKey, d.createdAt, m.id, m.version],
  };
}

function alertStatement(m: MessageRecord, o: OutboxInsert): SqlStatement {
  return {
    sql: `INSERT OR IGNORE INTO outbox (id, subject, payload, headers, ordering_key, created_at)
          SELECT ?, ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM tx_messages WHERE id = ? AND version = ? AND state = 'DISCARDED')`,
    params: [o.id, o.subject, o.payload, JSON.stringify(o.headers), o.orderingKey, o.createdAt, m.id, m.version],
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
