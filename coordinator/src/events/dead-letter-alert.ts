// The outbox row announcing a dead letter: a protobuf AlertEvent
// (OUTBOX_DEAD_LETTER) on <prefix>.alerts.outbox_dead_letter, written in the
// same transaction that moves the row to the dead letters.

import { AlertEvent, AlertKind } from '@saga/proto';
import { randomUUID } from 'node:crypto';
import type { OutboxInsert, OutboxRow } from '../store/store.js';

export function deadLetterAlertRow(subjectPrefix: string, row: OutboxRow, attempts: number, error: string, at: number): OutboxInsert {
  const eventId = randomUUID();
  const event: AlertEvent = {
    eventId,
    kind: AlertKind.ALERT_KIND_OUTBOX_DEAD_LETTER,
    firing: true,
    value: attempts,
    threshold: attempts,
    message: `outbox event ${row.id} (subject ${row.subject}, ${row.payload.length} bytes) could not be published: ${error}; the events of ordering key ${row.orderingKey} wait behind it`,
    occurredAt: new Date(at),
    subjectId: row.id,
  };
  return {
    id: eventId,
    subject: `${subjectPrefix}.alerts.outbox_dead_letter`,
    payload: Buffer.from(AlertEvent.encode(event).finish()),
    headers: { 'Nats-Msg-Id': eventId, 'Event-Id': row.id },
    createdAt: at,
    orderingKey: 'alert.outbox_dead_letter',
  };
}
