// Builds the outbox row for a saga outcome: a protobuf SagaEvent on
// <prefix>.events.<saga-name>.<state>, written in the same transaction as the
// state change it describes. It always fits what NATS carries: StartSaga
// refuses metadata that would not leave room for the texts
// (checkOutcomeEventFits), and a reason or note too long for the room left is
// cut (fit-event.ts).

import { SagaEvent } from '@saga/proto';
import { compensationStatusToPb, forwardStatusToPb, sagaStateToPb, tccPhaseToPb, transactionKindToPb } from '../grpc/convert.js';
import { randomUUID } from 'node:crypto';
import { invalidArgument } from '../domain/errors.js';
import type { FinishEvent, ResolveEvent } from '../domain/journal-event.js';
import type { SagaDefinition } from '../domain/saga-types.js';
import type { SagaRuntime } from '../engine/saga-runtime.js';
import type { OutboxInsert } from '../store/store.js';
import { fitEvent, type CuttableField } from './fit-event.js';
import { natsHeaderBytes } from './nats-header-bytes.js';

/** Bytes every outcome event keeps for its reason and note, whatever the metadata. */
export const OUTCOME_TEXT_ROOM_BYTES = 2048;

/** Cut in this order: participant-made reasons first; the metadata only when max_payload shrank below it. */
const CUTTABLE: readonly CuttableField<SagaEvent>[] = [
  { kind: 'text', name: 'reason', get: (e) => e.reason, set: (e, v) => (e.reason = v) },
  { kind: 'text', name: 'resolution_note', get: (e) => e.resolutionNote, set: (e, v) => (e.resolutionNote = v) },
  { kind: 'whole', name: 'metadata', empty: (e) => Object.keys(e.metadata).length === 0, drop: (e) => (e.metadata = {}) },
];

const encode = (e: SagaEvent): Uint8Array => SagaEvent.encode(e).finish();

/** `maxEventBytes`: the most NATS carries now (payload and headers). */
export function outcomeEventFactory(subjectPrefix: string, maxEventBytes: () => number): (saga: SagaRuntime, e: FinishEvent | ResolveEvent) => OutboxInsert[] {
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
      truncatedFields: [],
      kind: transactionKindToPb(saga.tcc === undefined ? 'SAGA' : 'TCC'),
      phase: tccPhaseToPb(saga.tcc?.phase),
    };
    const headers = { 'Nats-Msg-Id': eventId, 'Saga-Id': saga.id };
    return [
      {
        id: eventId,
        subject: `${subjectPrefix}.events.${saga.definition.name}.${state.toLowerCase()}`,
        payload: fitEvent(event, encode, headers, maxEventBytes(), CUTTABLE).payload,
        headers,
        createdAt: e.at,
        orderingKey: saga.id,
      },
    ];
  };
}

// Coordinator-chosen saga ids and event ids are UUIDs.
const UUID_SHAPE = '00000000-0000-7000-8000-000000000000';
// A timestamp whose encoding is as long as any the events carry.
const LATEST = new Date(Date.UTC(9999, 11, 31, 23, 59, 59, 999));

/**
 * StartSaga: refuses (INVALID_ARGUMENT naming `metadata`) a saga whose outcome
 * events could not carry its metadata with OUTCOME_TEXT_ROOM_BYTES left for
 * the reason and note, at the most NATS carries now (`limit`). Without
 * metadata the rest of an outcome event is a few hundred bytes: always fits.
 */
export function checkOutcomeEventFits(sagaId: string, definition: SagaDefinition, limit: number): void {
  if (Object.keys(definition.metadata).length === 0) return;
  const id = sagaId === '' ? UUID_SHAPE : sagaId;
  const longestStep = definition.steps.reduce((a, s) => (s.name.length > a.length ? s.name : a), '');
  const largest: SagaEvent = {
    eventId: UUID_SHAPE,
    sagaId: id,
    sagaName: definition.name,
    state: sagaStateToPb('COMPENSATED'),
    forwardStatus: forwardStatusToPb('DEADLINE_EXCEEDED'),
    compensationStatus: compensationStatusToPb('SUCCEEDED'),
    createdAt: LATEST,
    occurredAt: LATEST,
    durationMs: Number.MAX_SAFE_INTEGER,
    failedStep: longestStep,
    reason: 'r'.repeat(OUTCOME_TEXT_ROOM_BYTES),
    resolutionNote: '',
    metadata: definition.metadata,
    truncatedFields: ['reason', 'resolution_note'],
    // The largest: a TCC transaction's kind and phase are set.
    kind: transactionKindToPb('TCC'),
    phase: tccPhaseToPb('CANCEL'),
  };
  const bytes = encode(largest).length + natsHeaderBytes({ 'Nats-Msg-Id': UUID_SHAPE, 'Saga-Id': id });
  if (bytes > limit) {
    throw invalidArgument(
      'metadata',
      `makes the saga's outcome events ${bytes} bytes (with ${OUTCOME_TEXT_ROOM_BYTES} bytes kept for the reason), more than ${limit} bytes, the most NATS carries (max_payload)`,
    );
  }
}
