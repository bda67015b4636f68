// Lists transactional messages (tx_messages) for the web console and
// ListMessages, newest first over the rowid, without payloads; for
// SqliteStore's read connection.

import { invalidArgument } from '../../domain/errors.js';
import type { MessageListPage, MessageListQuery } from '../../messages/message-list.js';
import type { MessageState } from '../../messages/message-types.js';
import { messageListBounds } from '../message-list-bounds.js';
import type { SqliteConnection, SqlParam } from './sqlite-connection.js';

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

export async function listMessages(db: SqliteConnection, query: MessageListQuery): Promise<MessageListPage> {
  const where: string[] = [];
  const params: SqlParam[] = [];
  if (query.states.length > 0) {
    where.push(`state IN (${query.states.map(() => '?').join(', ')})`);
    params.push(...query.states);
  }
  for (const b of messageListBounds(query)) {
    where.push(`${b.column} ${b.op} ?`);
    params.push(b.value);
  }
  if (query.pageToken !== '') {
    const before = /^[0-9a-z]{1,11}$/.test(query.pageToken) ? Number.parseInt(query.pageToken, 36) : Number.NaN;
    if (!Number.isSafeInteger(before) || before <= 0) throw invalidArgument('pageToken', 'is not a token from this API');
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

export async function countMessagesByState(db: SqliteConnection): Promise<Map<MessageState, number>> {
  const rows = await db.all<{ state: MessageState; n: number }>('SELECT state, COUNT(*) AS n FROM tx_messages GROUP BY state');
  return new Map(rows.map((r) => [r.state, r.n]));
}
