// Lists transactional messages for the console, newest first, over the rowid
// of tx_messages (a read of the store's read connection; no payloads).

import type { MessageState } from '../messages/message-types.js';
import type { SqliteConnection, SqlParam } from '../store/sqlite/sqlite-connection.js';
import { FieldError } from './http-status-map.js';

export interface MessageSummary {
  readonly messageId: string;
  readonly subject: string;
  readonly key: string;
  readonly producer: string;
  readonly state: MessageState;
  /** Check-backs answered or failed so far, and the most allowed. */
  readonly checks: number;
  readonly maxChecks: number;
  readonly createdAt: number;
  readonly decidedAt: number | undefined;
  readonly deliverAt: number | undefined;
  readonly nextCheckAt: number | undefined;
  readonly publishedAt: number | undefined;
  readonly reason: string;
}

interface Row {
  rk: number;
  id: string;
  subject: string;
  msg_key: string;
  producer: string;
  state: MessageState;
  checks: number;
  max_checks: number;
  created_at: number;
  decided_at: number | null;
  deliver_at: number | null;
  next_check_at: number | null;
  published_at: number | null;
  reason: string;
}

export async function listMessages(
  db: SqliteConnection,
  query: { states: readonly MessageState[]; pageSize: number; pageToken: string },
): Promise<{ messages: MessageSummary[]; nextPageToken: string }> {
  const where: string[] = [];
  const params: SqlParam[] = [];
  if (query.states.length > 0) {
    where.push(`state IN (${query.states.map(() => '?').join(', ')})`);
    params.push(...query.states);
  }
  if (query.pageToken !== '') {
    const before = /^[0-9a-z]{1,11}$/.test(query.pageToken) ? Number.parseInt(query.pageToken, 36) : Number.NaN;
    if (!Number.isSafeInteger(before) || before <= 0) throw new FieldError('pageToken', 'is not a token from this API');
    where.push('rowid < ?');
    params.push(before);
  }
  params.push(query.pageSize + 1);
  const rows = await db.all<Row>(
    `SELECT rowid AS rk, id, subject, msg_key, producer, state, checks, max_checks, created_at, decided_at, deliver_at,
            next_check_at, published_at, reason
       FROM tx_messages ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY rowid DESC LIMIT ?`,
    params,
  );
  const more = rows.length > query.pageSize;
  const page = more ? rows.slice(0, query.pageSize) : rows;
  const last = page[page.length - 1];
  return {
    messages: page.map((r) => ({
      messageId: r.id,
      subject: r.subject,
      key: r.msg_key,
      producer: r.producer,
      state: r.state,
      checks: r.checks,
      maxChecks: r.max_checks,
      createdAt: r.created_at,
      decidedAt: r.decided_at ?? undefined,
      deliverAt: r.deliver_at ?? undefined,
      nextCheckAt: r.next_check_at ?? undefined,
      publishedAt: r.published_at ?? undefined,
      reason: r.reason,
    })),
    nextPageToken: more && last !== undefined ? last.rk.toString(36) : '',
  };
}

export async function countMessagesByState(db: SqliteConnection): Promise<Partial<Record<MessageState, number>>> {
  const rows = await db.all<{ state: MessageState; n: number }>('SELECT state, COUNT(*) AS n FROM tx_messages GROUP BY state');
  return Object.fromEntries(rows.map((r) => [r.state, r.n]));
}
