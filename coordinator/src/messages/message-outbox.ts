// The outbox statements of transactional messages. Both are conditional on the
// message's new version, so they take effect only in the transaction that
// makes that transition durable, never on a replay, and they never fail (a
// failing statement would roll back every unit group-committed with it).
//
// A delivery's outbox row id is the message id: the relay publishes a row with
// Nats-Msg-Id = its id (the header says the same), so JetStream drops a
// re-publication. Coordinator event ids are UUIDs; a client-chosen message id
// equal to one is refused at PrepareMessage.

import { randomUUID } from 'node:crypto';
import { AlertEvent, AlertKind } from '@saga/proto';
import type { SqlStatement } from '../store/sqlite/sqlite-store.js';
import type { MessageRecord } from './message-types.js';

/** The outbox row id (= Nats-Msg-Id) of a message's delivery. */
export function deliveryOutboxId(messageId: string): string {
  return messageId;
}

/**
 * Copies the committed message into the outbox: subject as named by the
 * producer, its headers plus Nats-Msg-Id = message id (JetStream drops
 * re-publications), payload read from the message row (never held in memory).
 */
export function deliveryStatement(m: MessageRecord, now: number): SqlStatement {
  const headers = JSON.stringify({ ...m.headers, 'Nats-Msg-Id': m.id });
  return {
    sql: `INSERT OR IGNORE INTO outbox (id, subject, payload, headers, ordering_key, created_at)
          SELECT ?, subject, payload, ?, ?, ? FROM tx_messages WHERE id = ? AND version = ? AND state = 'COMMITTED'`,
    // Messages of one business key are published in commit order.
    params: [deliveryOutboxId(m.id), headers, `message:${m.key || m.id}`, now, m.id, m.version],
  };
}

/** An AlertEvent (MESSAGE_DISCARDED) on <prefix>.alerts.message_discarded. */
export function discardAlertStatement(m: MessageRecord, subjectPrefix: string, now: number): SqlStatement {
  const eventId = randomUUID();
  const event: AlertEvent = {
    eventId,
    kind: AlertKind.ALERT_KIND_MESSAGE_DISCARDED,
    firing: true,
    value: m.checks,
    threshold: m.policy.maxChecks,
    message: `transactional message ${m.id} (subject ${m.subject}, producer ${m.producer}) discarded: ${m.reason}`,
    occurredAt: new Date(now),
    subjectId: m.id,
  };
  return {
    sql: `INSERT OR IGNORE INTO outbox (id, subject, payload, headers, ordering_key, created_at)
          SELECT ?, ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM tx_messages WHERE id = ? AND version = ? AND state = 'DISCARDED')`,
    params: [
      eventId,
      `${subjectPrefix}.alerts.message_discarded`,
      Buffer.from(AlertEvent.encode(event).finish()),
      JSON.stringify({ 'Nats-Msg-Id': eventId, 'Message-Id': m.id }),
      `message:${m.key || m.id}`,
      now,
      m.id,
      m.version,
    ],
  };
}
