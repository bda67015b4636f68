// Builds the outbox row for an alert that started or cleared: a protobuf
// AlertEvent on <prefix>.alerts.<kind>, ordered per kind.

import { AlertEvent } from '@saga/proto';
import { randomUUID } from 'node:crypto';
import type { OutboxInsert } from '../store/store.js';
import { ALERT_KIND_PROTO, type AlertReading } from './alert-rules.js';

export function alertOutboxRow(subjectPrefix: string, reading: AlertReading, at: number): OutboxInsert {
  const eventId = randomUUID();
  const event: AlertEvent = {
    eventId,
    kind: ALERT_KIND_PROTO[reading.kind],
    firing: reading.active,
    value: reading.value,
    threshold: reading.threshold,
    message: reading.message,
    occurredAt: new Date(at),
    subjectId: reading.subjectId,
  };
  return {
    id: eventId,
    subject: `${subjectPrefix}.alerts.${reading.kind}`,
    payload: Buffer.from(AlertEvent.encode(event).finish()),
    headers: { 'Nats-Msg-Id': eventId },
    createdAt: at,
    orderingKey: `alert.${reading.kind}`,
  };
}
