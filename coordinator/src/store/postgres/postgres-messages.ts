// The tx_messages table of transactional messages, for PostgresStore: reads
// on the pool, writes as conditional statements in its group-committed
// transactions (on absence or on the expected version, so none fails a batch).

import type pg from 'pg';
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
import type { MessageInsert, MessageUpdate } from '../store.js';

type Queryable = Pick<pg.Pool, 'query'> | pg.ClientBase;

const RECORD_COLUMNS = MESSAGE_COLUMNS.join(', ');
const INSERT_COLUMNS = ['payload', ...MESSAGE_COLUMNS].join(', ');
const INSERT_SQL = `INSERT INTO tx_messages (${INSERT_COLUMNS}) VALUES (${['payload', ...MESSAGE_COLUMNS].map((_, i) => `$${i + 1}`).join(', ')})
  ON CONFLICT (id) DO NOTHING`;
const UPDATE_SQL = `UPDATE tx_messages SET state = $1, checks = $2, decided_at = $3, next_check_at = $4, enqueued_at = $5, reason = $6, version = $7
  WHERE id = $8 AND version = $9`;
const DELIVERY_SQL = `INSERT INTO outbox (id, subject, payload, headers, ordering_key, created_at)
  SELECT $1, subject, payload, $2, $3, $4 FROM tx_messages WHERE id = $5 AND version = $6 AND state = 'COMMITTED'
  ON CONFLICT (id) DO NOTHING`;
const ALERT_SQL = `INSERT INTO outbox (id, subject, payload, headers, ordering_key, created_at)
  SELECT $1, $2, $3, $4, $5, $6 WHERE EXISTS (SELECT 1 FROM tx_messages WHERE id = $7 AND version = $8 AND state = 'DISCARDED')
  ON CONFLICT (id) DO NOTHING`;
const EXPIRED = `SELECT id FROM tx_messages WHERE decided_at IS NOT NULL AND decided_at < $1
  AND (state IN ('ROLLED_BACK', 'DISCARDED') OR (state = 'COMMITTED' AND enqueued_at IS NOT NULL)) LIMIT $2`;

export async function getMessage(db: Queryable, id: string): Promise<MessageRecord | undefined> {
  const r = await db.query<MessageRowDb>(`SELECT ${RECORD_COLUMNS} FROM tx_messages WHERE id = $1`, [id]);
  return r.rows[0] === undefined ? undefined : toMessageRecord(r.rows[0]);
}

export async function viewMessage(db: Queryable, id: string, deliveryId: string): Promise<MessageView | undefined> {
  const r = await db.query<MessageRowDb & { payload: Buffer; sent_at: number | null }>(
    `SELECT ${MESSAGE_COLUMNS.map((c) => `m.${c}`).join(', ')}, m.payload, o.sent_at
       FROM tx_messages m LEFT JOIN outbox o ON o.id = $1 WHERE m.id = $2`,
    [deliveryId, id],
  );
  const row = r.rows[0];
  if (row === undefined) return undefined;
  const record = toMessageRecord(row);
  return { ...record, publishedAt: record.publishedAt ?? row.sent_at ?? undefined, payload: row.payload };
}

export async function loadPendingMessages(db: Queryable, visit: (id: string, wakeAt: number, state: MessageState) => void): Promise<number> {
  const r = await db.query<{ id: string; at: number | null; state: MessageState }>(
    `SELECT id, next_check_at AS at, state FROM tx_messages WHERE state = 'PREPARED'
     UNION ALL
     SELECT id, deliver_at AS at, state FROM tx_messages WHERE state = 'COMMITTED' AND enqueued_at IS NULL`,
  );
  for (const row of r.rows) visit(row.id, row.at ?? 0, row.state);
  return r.rows.length;
}

export async function countPreparedMessages(db: Queryable): Promise<number> {
  const r = await db.query<{ n: number }>("SELECT count(*)::int AS n FROM tx_messages WHERE state = 'PREPARED'");
  return r.rows[0]?.n ?? 0;
}

/** Copies sent_at of up to `limit` published deliveries into published_at. */
export async function syncPublishedMessages(db: Queryable, limit: number): Promise<void> {
  await db.query(
    `UPDATE tx_messages m SET published_at = o.sent_at
       FROM outbox o
      WHERE o.id = m.id AND o.sent_at IS NOT NULL
        AND m.id IN (SELECT id FROM tx_messages WHERE enqueued_at IS NOT NULL AND published_at IS NULL ORDER BY enqueued_at LIMIT $1)`,
    [limit],
  );
}

export async function deleteMessagesDecidedBefore(db: Queryable, before: number, limit: number): Promise<number> {
  const r = await db.query(`DELETE FROM tx_messages WHERE id IN (${EXPIRED})`, [before, limit]);
  return r.rowCount ?? 0;
}

/** A unit's message writes, in order: each insert, each update followed by its outbox rows. */
export async function writeMessages(db: pg.ClientBase, inserts: readonly MessageInsert[], updates: readonly MessageUpdate[]): Promise<void> {
  for (const i of inserts) {
    await db.query({ name: 'msg-insert', text: INSERT_SQL, values: messageInsertValues(i.record, i.payload) });
  }
  for (const u of updates) {
    await db.query({ name: 'msg-update', text: UPDATE_SQL, values: messageUpdateValues(u.next, u.fromVersion) });
    if (u.delivery !== undefined) await db.query({ name: 'msg-delivery', text: DELIVERY_SQL, values: deliveryValues(u.next, u.delivery) });
    if (u.alert !== undefined) await db.query({ name: 'msg-alert', text: ALERT_SQL, values: alertValues(u.next, u.alert) });
  }
}
