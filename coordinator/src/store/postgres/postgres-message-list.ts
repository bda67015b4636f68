// Lists transactional messages (tx_messages) for the web console and
// ListMessages on PostgreSQL, newest first, without payloads. PostgreSQL has
// no rowid: pages are keyed by (created_at, id), and the cursor carries both.

import type pg from 'pg';
import { invalidArgument } from '../../domain/errors.js';
import type { MessageListPage, MessageListQuery } from '../../messages/message-list.js';
import type { MessageState } from '../../messages/message-types.js';
import { messageListBounds } from '../message-list-bounds.js';

interface Row {
  id: string;
  subject: string;
  msg_key: string;
  producer: string;
  state: MessageState;
  checks: number;
  max_checks: number;
  created_at: string | number;
  decided_at: string | number | null;
  deliver_at: string | number | null;
  next_check_at: string | number | null;
  published_at: string | number | null;
  reason: string;
}

const optional = (v: string | number | null): number | undefined => (v === null ? undefined : Number(v));

function encodeCursor(createdAt: number, id: string): string {
  return Buffer.from(JSON.stringify([createdAt, id])).toString('base64url');
}

function decodeCursor(token: string): [number, string] {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
    if (Array.isArray(parsed) && parsed.length === 2 && Number.isSafeInteger(parsed[0]) && typeof parsed[1] === 'string') {
      return [parsed[0] as number, parsed[1]];
    }
  } catch {
    // falls through to the refusal
  }
  throw invalidArgument('pageToken', 'is not a token from this API');
}

export async function listMessagesPostgres(db: pg.Pool, query: MessageListQuery): Promise<MessageListPage> {
  const where: string[] = [];
  const values: unknown[] = [];
  if (query.states.length > 0) {
    values.push([...query.states]);
    where.push(`state = ANY($${values.length}::text[])`);
  }
  for (const b of messageListBounds(query)) {
    values.push(b.value);
    where.push(`${b.column} ${b.op} $${values.length}`);
  }
  if (query.pageToken !== '') {
    const [createdAt, id] = decodeCursor(query.pageToken);
    values.push(createdAt, id);
    where.push(`(created_at, id) < ($${values.length - 1}, $${values.length})`);
  }
  values.push(query.pageSize + 1);
  const r = await db.query<Row>(
    `SELECT id, subject, msg_key, producer, state, checks, max_checks, created_at, decided_at, deliver_at,
            next_check_at, published_at, reason
       FROM tx_messages ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}
      ORDER BY created_at DESC, id DESC LIMIT $${values.length}`,
    values,
  );
  const more = r.rows.length > query.pageSize;
  const page = more ? r.rows.slice(0, query.pageSize) : r.rows;
  const last = page[page.length - 1];
  return {
    messages: page.map((row) => ({
      messageId: row.id,
      subject: row.subject,
      key: row.msg_key,
      producer: row.producer,
      state: row.state,
      checks: row.checks,
      maxChecks: row.max_checks,
      createdAt: Number(row.created_at),
      decidedAt: optional(row.decided_at),
      deliverAt: optional(row.deliver_at),
      nextCheckAt: optional(row.next_check_at),
      publishedAt: optional(row.published_at),
      reason: row.reason,
    })),
    nextPageToken: more && last !== undefined ? encodeCursor(Number(last.created_at), last.id) : '',
  };
}

export async function countMessagesByStatePostgres(db: pg.Pool): Promise<Map<MessageState, number>> {
  const r = await db.query<{ state: MessageState; n: number }>('SELECT state, count(*)::int AS n FROM tx_messages GROUP BY state');
  return new Map(r.rows.map((row) => [row.state, row.n]));
}
