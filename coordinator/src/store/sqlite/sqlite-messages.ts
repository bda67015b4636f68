// The tx_messages table (migration 2) of transactional messages, for
// SqliteStore: reads on its read connection, and writes as statements joining
// its group-committed transactions. Every statement is conditional (on absence
// or on the version it expects) so it never fails a batch, and has a fixed
// text (the writer caches prepared statements by text).

import type { MessageRecord, MessageState, MessageView } from '../../messages/message-types.js';
import {
  alertValues,
  deliveryValues,
  MESSAGE_COLUMNS,
  messageInsertValues,
  messageUpdateValues,
  toMessageRecord,
  type MessageRowDb,
} from '../message-row.js';
import type { MessageDelivery, MessageInsert, MessageUpdate, OutboxInsert } from '../store.js';
import type { SqliteConnection, SqlParam } from './sqlite-connection.js';

/** A statement joining the group-committed transaction. */
export interface SqlStatement {
  readonly sql: string;
  readonly params: readonly SqlParam[];
}

const RECORD_COLUMNS = MESSAGE_COLUMNS.join(', ');
const INSERT_COLUMNS = ['payload', ...MESSAGE_COLUMNS].join(', ');

export async function getMessage(db: SqliteConnection, id: string): Promise<MessageRecord | undefined> {
  const rows = await db.all<MessageRowDb>(`SELECT ${RECORD_COLUMNS} FROM tx_messages WHERE id = ?`, [id]);
  return rows[0] === undefined ? undefined : toMessageRecord(rows[0]);
}

export async function viewMessage(db: SqliteConnection, id: string, deliveryId: string): Promise<MessageView | undefined> {
  const rows = await db.all<MessageRowDb & { payload: Buffer; sent_at: number | null }>(
    `SELECT ${MESSAGE_COLUMNS.map((c) => `m.${c}`).join(', ')}, m.payload, o.sent_at
       FROM tx_messages m LEFT JOIN outbox o ON o.id = ? WHERE m.id = ?`,
    [deliveryId, id],
  );
  const row = rows[0];
  if (row === undefined) return undefined;
  const record = toMessageRecord(row);
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
  const params = messageInsertValues(m, payload);
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
    params: messageUpdateValues(next, fromVersion),
  };
}

/** Copies the committed message (payload from its row, never held in memory) into the outbox. */
function deliveryStatement(m: MessageRecord, d: MessageDelivery): SqlStatement {
  return {
    sql: `INSERT OR IGNORE INTO outbox (id, subject, payload, headers, ordering_key, created_at)
          SELECT ?, subject, payload, ?, ?, ? FROM tx_messages WHERE id = ? AND version = ? AND state = 'COMMITTED'`,
    params: deliveryValues(m, d),
  };
}

function alertStatement(m: MessageRecord, o: OutboxInsert): SqlStatement {
  return {
    sql: `INSERT OR IGNORE INTO outbox (id, subject, payload, headers, ordering_key, created_at)
          SELECT ?, ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM tx_messages WHERE id = ? AND version = ? AND state = 'DISCARDED')`,
    params: alertValues(m, o),
  };
}
