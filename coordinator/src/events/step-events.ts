// Builds the outbox row for a step transition (opt-in, events.stepEvents): a
// protobuf StepEvent on <prefix>.steps.<saga-name>.<step-name>, written in the
// same transaction as the dispatch or result it describes. Ordered per saga
// with the saga's outcome events (same ordering key). A participant's error
// message or code too long for what NATS carries is cut (fit-event.ts).

import { StepEvent, StepStatus } from '@saga/proto';
import { operationToPb } from '../grpc/convert.js';
import { randomUUID } from 'node:crypto';
import type { DispatchEvent, ResultEvent } from '../domain/journal-event.js';
import type { SagaRuntime } from '../engine/saga-runtime.js';
import type { OutboxInsert } from '../store/store.js';
import { fitEvent, type CuttableField } from './fit-event.js';

const CUTTABLE: readonly CuttableField<StepEvent>[] = [
  { kind: 'text', name: 'error_message', get: (e) => e.errorMessage, set: (e, v) => (e.errorMessage = v) },
  { kind: 'text', name: 'error_code', get: (e) => e.errorCode, set: (e, v) => (e.errorCode = v) },
];

const encode = (e: StepEvent): Uint8Array => StepEvent.encode(e).finish();

/** `maxEventBytes`: the most NATS carries now (payload and headers). */
export function stepEventFactory(subjectPrefix: string, maxEventBytes: () => number): (saga: SagaRuntime, e: DispatchEvent | ResultEvent) => OutboxInsert[] {
  return (saga, e) => {
    const step = saga.definition.steps[e.s];
    if (step === undefined) return [];
    const eventId = randomUUID();
    const event: StepEvent = {
      eventId,
      sagaId: saga.id,
      sagaName: saga.definition.name,
      stepName: step.name,
      operation: operationToPb(e.op),
      status: statusOf(e),
      attempt: e.n,
      occurredAt: new Date(e.at),
      errorCode: e.t === 'result' ? (e.code ?? '') : '',
      errorMessage: e.t === 'result' ? (e.msg ?? '') : '',
      truncatedFields: [],
    };
    const headers = { 'Nats-Msg-Id': eventId, 'Saga-Id': saga.id };
    return [
      {
        id: eventId,
        subject: `${subjectPrefix}.steps.${saga.definition.name}.${step.name}`,
        payload: fitEvent(event, encode, headers, maxEventBytes(), CUTTABLE).payload,
        headers,
        createdAt: e.at,
        orderingKey: saga.id,
      },
    ];
  };
}

/** RUNNING while an attempt is out or a retry is due; SUCCEEDED or FAILED once settled. */
function statusOf(e: DispatchEvent | ResultEvent): StepStatus {
  if (e.t === 'dispatch') return StepStatus.STEP_STATUS_RUNNING;
  if (e.o === 'S') return StepStatus.STEP_STATUS_SUCCEEDED;
  if (e.o === 'E' && e.next !== undefined) return StepStatus.STEP_STATUS_RUNNING;
  return StepStatus.STEP_STATUS_FAILED;
}
