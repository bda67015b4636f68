import { TransactionKind } from '@saga/proto';
import type {
  Attempt as ProtoAttempt,
  ListSagasRequest,
  RetryPolicy as ProtoRetryPolicy,
  Saga as ProtoSaga,
  SagaSummary as ProtoSagaSummary,
  StartSagaRequest,
  StartSagaResponse,
  Step as ProtoStep,
} from '@saga/proto';
import { encodePayload } from './payload.js';
import type { RetryPolicy, SagaDefinition, StartSagaOptions } from './saga-definition.js';
import {
  attemptOperationCodec,
  attemptOutcomeCodec,
  compensationStatusCodec,
  forwardStatusCodec,
  sagaOutcomeCodec,
  sagaStateCodec,
  tccPhaseCodec,
  transactionKindCodec,
  stepStatusCodec,
} from './saga-enum-codecs.js';
import type {
  AttemptRecord,
  ListSagasFilter,
  SagaRecord,
  SagaSummary,
  StartSagaResult,
  StepRecord,
} from './saga-record.js';

// The edge between the SDK's domain types and the generated ones: nothing
// generated crosses the public API.

function toProtoRetry(policy: RetryPolicy | undefined): ProtoRetryPolicy | undefined {
  if (policy === undefined) return undefined;
  return {
    maxAttempts: policy.maxAttempts ?? 0,
    attemptTimeoutMs: policy.attemptTimeoutMs ?? 0,
    initialBackoffMs: policy.initialBackoffMs ?? 0,
    maxBackoffMs: policy.maxBackoffMs ?? 0,
    backoffMultiplier: policy.backoffMultiplier ?? 0,
  };
}

function fromProtoRetry(policy: ProtoRetryPolicy | undefined): RetryPolicy | undefined {
  if (policy === undefined) return undefined;
  return {
    maxAttempts: policy.maxAttempts,
    attemptTimeoutMs: policy.attemptTimeoutMs,
    initialBackoffMs: policy.initialBackoffMs,
    maxBackoffMs: policy.maxBackoffMs,
    backoffMultiplier: policy.backoffMultiplier,
  };
}

export function toStartSagaRequest(definition: SagaDefinition, options: StartSagaOptions): StartSagaRequest {
  return {
    sagaId: options.sagaId ?? '',
    name: definition.name,
    kind: definition.kind === 'TCC' ? TransactionKind.TRANSACTION_KIND_TCC : TransactionKind.TRANSACTION_KIND_SAGA,
    steps: definition.steps.map((step) => ({
      name: step.name,
      participant: step.participant,
      action: step.action,
      compensateAction: step.compensateAction ?? '',
      payload: encodePayload(step.payload),
      dependsOn: [...(step.dependsOn ?? [])],
      noCompensation: step.noCompensation ?? false,
      retry: toProtoRetry(step.retry),
      compensationRetry: toProtoRetry(step.compensationRetry),
      metadata: { ...step.metadata },
    })),
    options: {
      deadlineMs: definition.options?.deadlineMs ?? 0,
      defaultRetry: toProtoRetry(definition.options?.defaultRetry),
      defaultCompensationRetry: toProtoRetry(definition.options?.defaultCompensationRetry),
    },
    metadata: { ...definition.metadata },
    waitMs: options.waitMs ?? 0,
  };
}

export function fromStartSagaResponse(response: StartSagaResponse): StartSagaResult {
  return {
    sagaId: response.sagaId,
    created: response.created,
    state: sagaStateCodec.fromProto(response.state),
    outcome: sagaOutcomeCodec.fromProto(response.outcome),
    failedStep: response.failedStep,
    failureReason: response.failureReason,
  };
}

function fromProtoAttempt(attempt: ProtoAttempt): AttemptRecord {
  return {
    operation: attemptOperationCodec.fromProto(attempt.operation),
    number: attempt.number,
    startedAt: attempt.startedAt,
    finishedAt: attempt.finishedAt,
    outcome: attemptOutcomeCodec.fromProto(attempt.outcome),
    errorCode: attempt.errorCode,
    errorMessage: attempt.errorMessage,
    resent: attempt.resent,
  };
}

function fromProtoStep(step: ProtoStep): StepRecord {
  const definition = step.definition;
  return {
    name: definition?.name ?? '',
    participant: definition?.participant ?? '',
    action: definition?.action ?? '',
    compensateAction: definition?.compensateAction ?? '',
    payload: Buffer.from(definition?.payload ?? []),
    dependsOn: [...(definition?.dependsOn ?? [])],
    noCompensation: definition?.noCompensation ?? false,
    retry: fromProtoRetry(definition?.retry),
    compensationRetry: fromProtoRetry(definition?.compensationRetry),
    metadata: { ...definition?.metadata },
    executeStatus: stepStatusCodec.fromProto(step.executeStatus),
    compensateStatus: stepStatusCodec.fromProto(step.compensateStatus),
    output: Buffer.from(step.output),
    attempts: step.attempts.map(fromProtoAttempt),
    nextAttemptAt: step.nextAttemptAt,
    confirmStatus: stepStatusCodec.fromProto(step.confirmStatus),
  };
}

export function fromProtoSaga(saga: ProtoSaga): SagaRecord {
  return {
    sagaId: saga.sagaId,
    name: saga.name,
    kind: transactionKindCodec.fromProto(saga.kind),
    phase: tccPhaseCodec.fromProto(saga.phase),
    state: sagaStateCodec.fromProto(saga.state),
    forwardStatus: forwardStatusCodec.fromProto(saga.forwardStatus),
    compensationStatus: compensationStatusCodec.fromProto(saga.compensationStatus),
    steps: saga.steps.map(fromProtoStep),
    options: {
      deadlineMs: saga.options?.deadlineMs ?? 0,
      defaultRetry: fromProtoRetry(saga.options?.defaultRetry),
      defaultCompensationRetry: fromProtoRetry(saga.options?.defaultCompensationRetry),
    },
    metadata: { ...saga.metadata },
    createdAt: saga.createdAt,
    updatedAt: saga.updatedAt,
    finishedAt: saga.finishedAt,
    deadline: saga.deadline,
    failedStep: saga.failedStep,
    failureReason: saga.failureReason,
    resolutionNote: saga.resolutionNote,
    version: saga.version,
  };
}

export function fromProtoSagaSummary(summary: ProtoSagaSummary): SagaSummary {
  return {
    sagaId: summary.sagaId,
    name: summary.name,
    kind: transactionKindCodec.fromProto(summary.kind),
    state: sagaStateCodec.fromProto(summary.state),
    createdAt: summary.createdAt,
    updatedAt: summary.updatedAt,
    finishedAt: summary.finishedAt,
    failedStep: summary.failedStep,
    failureReason: summary.failureReason,
  };
}

export function toListSagasRequest(filter: ListSagasFilter): ListSagasRequest {
  return {
    states: (filter.states ?? []).map((state) => sagaStateCodec.toProto(state)),
    name: filter.name ?? '',
    createdAfter: filter.createdAfter,
    createdBefore: filter.createdBefore,
    pageSize: filter.pageSize ?? 0,
    pageToken: filter.pageToken ?? '',
  };
}
