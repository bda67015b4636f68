// Builds the outbox row for a saga outcome: a protobuf SagaEvent on
// <prefix>.events.<saga-name>.<state>, written in the same transaction as the
// state change it describes.

import { SagaEvent } from '@saga/proto';
import { compensationStatusToPb, forwardStatusToPb, sagaStateToPb, tccPhaseToPb, transactionKindToPb } from '../grpc/convert.js';
import { randomUUID } from 'node:crypto';
import type { FinishEvent, ResolveEvent } from '../domain/journal-event.js';
import type { SagaRuntime } from '../engine/saga-runtime.js';
import type { OutboxInsert } from '../store/store.js';

export function outcomeEventFactory(subjectPrefix: string): (saga: SagaRuntime, e: FinishEvent | ResolveEvent) => OutboxInsert[] {
  return (saga, e) => {
    const state = e.t === 'resolve' ? 'RESOLVED' : e.state;
    const eventId = randomUUID();
    const event: SagaEvent = {
      eventId,
      sagaId: saga.id,
      sagaName: saga.definition.name,
      state: sagaStateToPb(state),
      forwardStatus: forwardStatusToPb(saga.forward),
      compensationStatus: compensationStatusToPb(saga.compensation),
      createdAt: new Date(saga.createdAt),
      occurredAt: new Date(e.at),
      durationMs: Math.max(0, e.at - saga.createdAt),
      failedStep: saga.failedStep,
      reason: saga.reason,
      resolutionNote: saga.note,
      metadata: { ...saga.definition.metadata },
      kind: transactionKindToPb(saga.tcc === undefined ? 'SAGA' : 'TCC'),
      phase: tccPhaseToPb(saga.tcc?.phase),
    };
    return [
      {
        id: eventId,
        subject: `${subjectPrefix}.events.${saga.definition.name}.${state.toLowerCase()}`,
        payload: Buffer.from(SagaEvent.encode(event).finish()),
        headers: { 'Nats-Msg-Id': eventId, 'Saga-Id': saga.id },
        createdAt: e.at,
        orderingKey: saga.id,
      },
    ];
  };
}
