// The outbox rows of transactional messages. The store writes both only if the
// message is at its new version, so they take effect only in the transaction
// that makes that transition durable, never on a replay, and they never fail (a
// failing write would roll back every unit group-committed with it).
//
// A delivery's outbox row id is the message id: the relay publishes a row with
// Nats-Msg-Id = its id (the header says the same), so JetStream drops a
// re-publication. Coordinator event ids are UUIDs; a client-chosen message id
// equal to one is refused at PrepareMessage.

import { randomUUID } from 'node:crypto';
import { AlertEvent, AlertKind } from '@saga/proto';
import type { MessageDelivery, OutboxInsert } from '../store/store.js';
import type { MessageRecord } from './message-types.js';

/** The outbox row id (= Nats-Msg-Id) of a message's delivery. */
export function deliveryOutboxId(messageId: string): string {
  return messageId;
}

/**
 * The committed message's outbox row: subject as named by the producer, its
 * headers plus Nats-Msg-Id = message id (JetStream drops re-publications),
 * payload read by the store from the message row (never held in memory).
 */
export function deliveryRow(m: MessageRecord, now: number): MessageDelivery {
  return {
    outboxId: deliveryOutboxId(m.id),
    headers: { ...m.headers, 'Nats-Msg-Id': m.id },
    // Messages of one business key are published in commit order.
    orderingKey: `message:${m.key || m.id}`,
    createdAt: now,
  };
}

/** An AlertEvent (MESSAGE_DISCARDED) on <prefix>.alerts.message_discarded. */
export function discardAlert(m: MessageRecord, subjectPrefix: string, now: number): OutboxInsert {
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
    id: eventId,
    subject: `${subjectPrefix}.alerts.message_discarded`,
    payload: Buffer.from(AlertEvent.encode(event).finish()),
    headers: { 'Nats-Msg-Id': eventId, 'Message-Id': m.id },
    orderingKey: `message:${m.key || m.id}`,
    createdAt: now,
  };
}
