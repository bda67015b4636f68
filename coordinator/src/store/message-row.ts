// A tx_messages row as both backends store it (the same column names), its
// conversion to the domain record, and the bound values of the backends'
// message statements (the same order in both).

import type { MessageRecord, MessageState } from '../messages/message-types.js';
import type { MessageDelivery, OutboxInsert } from './store.js';

export type MessageValue = string | number | Buffer | null;

export interface MessageRowDb {
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

export const MESSAGE_COLUMNS: readonly string[] = [
  'id', 'subject', 'msg_key', 'headers', 'producer', 'check_after_ms', 'check_interval_ms', 'max_checks', 'check_timeout_ms',
  'content_hash', 'state', 'checks', 'created_at', 'decided_at', 'deliver_at', 'next_check_at', 'enqueued_at', 'published_at',
  'reason', 'version',
];

export function toMessageRecord(r: MessageRowDb): MessageRecord {
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

/** payload, then MESSAGE_COLUMNS in order. */
export function messageInsertValues(m: MessageRecord, payload: Buffer): MessageValue[] {
  return [
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
}

/** state, checks, decided_at, next_check_at, enqueued_at, reason, version; then id and the version updated from. */
export function messageUpdateValues(next: MessageRecord, fromVersion: number): MessageValue[] {
  return [
    next.state,
    next.checks,
    next.decidedAt ?? null,
    next.nextCheckAt ?? null,
    next.enqueuedAt ?? null,
    next.reason,
    next.version,
    next.id,
    fromVersion,
  ];
}

/** outbox id, headers, ordering key, created_at; then the message's id and version. */
export function deliveryValues(m: MessageRecord, d: MessageDelivery): MessageValue[] {
  return [d.outboxId, JSON.stringify(d.headers), d.orderingKey, d.createdAt, m.id, m.version];
}

/** The alert's outbox columns; then the message's id and version. */
export function alertValues(m: MessageRecord, o: OutboxInsert): MessageValue[] {
  return [o.id, o.subject, o.payload, JSON.stringify(o.headers), o.orderingKey, o.createdAt, m.id, m.version];
}
