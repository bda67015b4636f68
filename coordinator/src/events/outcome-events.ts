// Builds the outbox row for a saga outcome: a protobuf SagaEvent on
// <prefix>.events.<saga-name>.<state>, written in the same transaction as the
// state change it describes.

import { CompensationStatus, ForwardStatus, SagaEvent, SagaState } from '@saga/proto';
import { randomUUID } from 'node:crypto';
import type { FinishEvent, ResolveEvent } from '../engine/journal-event.js';
import type { SagaRuntime } from '../engine/saga-runtime.js';
import type { OutboxInsert } from '../store/store.js';

const STATE: Record<string, SagaState> = {
  COMPLETED: SagaState.SAGA_STATE_COMPLETED,
  COMPENSATED: SagaState.SAGA_STATE_COMPENSATED,
  MANUAL: SagaState.SAGA_STATE_MANUAL,
  RESOLVED: SagaState.SAGA_STATE_RESOLVED,
};
const FORWARD: Record<string, ForwardStatus> = {
  RUNNING: ForwardStatus.FORWARD_STATUS_RUNNING,
  SUCCEEDED: ForwardStatus.FORWARD_STATUS_SUCCEEDED,
  FAILED: ForwardStatus.FORWARD_STATUS_FAILED,
  DEADLINE_EXCEEDED: ForwardStatus.FORWARD_STATUS_DEADLINE_EXCEEDED,
  ABORTED: ForwardStatus.FORWARD_STATUS_ABORTED,
};
const COMPENSATION: Record<string, CompensationStatus> = {
  NOT_NEEDED: CompensationStatus.COMPENSATION_STATUS_NOT_NEEDED,
  RUNNING: CompensationStatus.COMPENSATION_STATUS_RUNNING,
  SUCCEEDED: CompensationStatus.COMPENSATION_STATUS_SUCCEEDED,
  FAILED: CompensationStatus.COMPENSATION_STATUS_FAILED,
};

export function outcomeEventFactory(subjectPrefix: string): (saga: SagaRuntime, e: FinishEvent | ResolveEvent) => OutboxInsert[] {
  return (saga, e) => {
    const state = e.t === 'resolve' ? 'RESOLVED' : e.state;
    const eventId = randomUUID();
    const event: SagaEvent = {
      eventId,
      sagaId: saga.id,
      sagaName: saga.definition.name,
      state: STATE[state] ?? SagaState.SAGA_STATE_UNSPECIFIED,
      forwardStatus: FORWARD[saga.forward] ?? ForwardStatus.FORWARD_STATUS_UNSPECIFIED,
      compensationStatus: COMPENSATION[saga.compensation] ?? CompensationStatus.COMPENSATION_STATUS_UNSPECIFIED,
      createdAt: new Date(saga.createdAt),
      occurredAt: new Date(e.at),
      durationMs: Math.max(0, e.at - saga.createdAt),
      failedStep: saga.failedStep,
      reason: saga.reason,
      resolutionNote: saga.note,
      metadata: { ...saga.definition.metadata },
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
