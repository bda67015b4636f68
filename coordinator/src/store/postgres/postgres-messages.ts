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
// The owner (last) is the instance that accepted the message: it checks it back.
const INSERT_COLUMNS = ['payload', ...MESSAGE_COLUMNS, 'owner'].join(', ');
const INSERT_SQL = `INSERT INTO tx_messages (${INSERT_COLUMNS}) VALUES (${['payload', ...MESSAGE_COLUMNS, 'owner'].map((_, i) => `$${i + 1}`).join(', ')})
  ON CONFLICT (id) DO NOTHING`;
const UPDATE_SQL = `UPDATE tx_messages SET state = $1, checks = $2, decided_at = $3, next_check_at = $4, enqueued_at = $5, reason = $6, version = $7
  WHERE id = $8 AND version = $9`;
// Delivery and alert rows are owned (published) by the writing instance (the last parameter).
const DELIVERY_SQL = `INSERT INTO outbox (id, subject, payload, headers, ordering_key, created_at, owner)
  SELECT $1, subject, payload, $2, $3, $4, $7 FROM tx_messages WHERE id = $5 AND version = $6 AND state = 'COMMITTED'
  ON CONFLICT (id) DO NOTHING`;
const ALERT_SQL = `INSERT INTO outbox (id, subject, payload, headers, ordering_key, created_at, owner)
  SELECT $1, $2, $3, $4, $5, $6, $9 WHERE EXISTS (SELECT 1 FROM tx_messages WHERE id = $7 AND version = $8 AND state = 'DISCARDED')
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

/**
 * Takes over up to `limit` messages that still need a coordinator (PREPARED:
 * check-backs; COMMITTED, not yet in the outbox: delivery) whose owner's lease
 * expired, or with no owner, for `instance`; visits each with when it is due.
 * Only the owner arms their timers, so instances do not check a message back twice.
 */
export async function claimPendingMessages(
  db: Queryable,
  instance: string,
  limit: number,
  visit: (id: string, wakeAt: number, state: MessageState) => void,
): Promise<number> {
  const r = await db.query<{ id: string; at: number | null; state: MessageState }>({
    name: 'claim-messages',
    text: `WITH dead AS (SELECT id FROM instances WHERE lease_until <= clock_timestamp() AND id <> $1),
                picked AS (
                  SELECT id FROM tx_messages
                   WHERE (${PENDING}) AND (owner IS NULL OR owner IN (SELECT id FROM dead))
                   LIMIT $2
                   FOR NO KEY UPDATE SKIP LOCKED)
           UPDATE tx_messages m SET owner = $1 FROM picked WHERE m.id = picked.id
           RETURNING m.id, CASE WHEN m.state = 'PREPARED' THEN m.next_check_at ELSE m.deliver_at END AS at, m.state`,
    values: [instance, limit],
  });
  for (const row of r.rows) visit(row.id, row.at ?? 0, row.state);
  return r.rows.length;
}

/** A message that still needs a coordinator (matching the partial index tx_messages_pending_by_owner). */
const PENDING = "state = 'PREPARED' OR (state = 'COMMITTED' AND enqueued_at IS NULL)";

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
export async function writeMessages(
  db: pg.ClientBase,
  inserts: readonly MessageInsert[],
  updates: readonly MessageUpdate[],
  owner: string,
): Promise<void> {
  for (const i of inserts) {
    await db.query({ name: 'msg-insert', text: INSERT_SQL, values: [...messageInsertValues(i.record, i.payload), owner] });
  }
  for (const u of updates) {
    await db.query({ name: 'msg-update', text: UPDATE_SQL, values: messageUpdateValues(u.next, u.fromVersion) });
    if (u.delivery !== undefined) await db.query({ name: 'msg-delivery', text: DELIVERY_SQL, values: [...deliveryValues(u.next, u.delivery), owner] });
    if (u.alert !== undefined) await db.query({ name: 'msg-alert', text: ALERT_SQL, values: [...alertValues(u.next, u.alert), owner] });
  }
}
