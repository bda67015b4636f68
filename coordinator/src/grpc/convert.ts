// Conversions between the generated protobuf types and the domain types. The
// engine never sees generated types.

import {
  AttemptOutcome as PbAttemptOutcome,
  CompensationStatus as PbCompensationStatus,
  ForwardStatus as PbForwardStatus,
  Operation as PbOperation,
  SagaOutcome as PbSagaOutcome,
  SagaState as PbSagaState,
  StepStatus as PbStepStatus,
  TccPhase as PbTccPhase,
  TransactionKind as PbTransactionKind,
  type ListSagasRequest,
  type RetryPolicy as PbRetryPolicy,
  type Saga as PbSaga,
  type SagaSummary as PbSagaSummary,
  type StartSagaRequest,
  type StartSagaResponse,
} from '@saga/proto';
import { invalidArgument } from '../domain/errors.js';
import type {
  AttemptOutcome,
  CompensationStatus,
  ForwardStatus,
  ListSagasFilter,
  Operation,
  RetryPolicy,
  RetryPolicyInput,
  SagaOutcome,
  SagaState,
  SagaSummary,
  SagaView,
  StartSagaInput,
  StartSagaResult,
  StepStatus,
  TccPhase,
  TransactionKind,
} from '../domain/saga-types.js';

const SAGA_STATE: Record<SagaState, PbSagaState> = {
  RUNNING: PbSagaState.SAGA_STATE_RUNNING,
  COMPENSATING: PbSagaState.SAGA_STATE_COMPENSATING,
  COMPLETED: PbSagaState.SAGA_STATE_COMPLETED,
  COMPENSATED: PbSagaState.SAGA_STATE_COMPENSATED,
  MANUAL: PbSagaState.SAGA_STATE_MANUAL,
  RESOLVED: PbSagaState.SAGA_STATE_RESOLVED,
};
const SAGA_STATE_FROM_PB = new Map<number, SagaState>(Object.entries(SAGA_STATE).map(([k, v]) => [v, k as SagaState]));

const FORWARD: Record<ForwardStatus, PbForwardStatus> = {
  RUNNING: PbForwardStatus.FORWARD_STATUS_RUNNING,
  SUCCEEDED: PbForwardStatus.FORWARD_STATUS_SUCCEEDED,
  FAILED: PbForwardStatus.FORWARD_STATUS_FAILED,
  DEADLINE_EXCEEDED: PbForwardStatus.FORWARD_STATUS_DEADLINE_EXCEEDED,
  ABORTED: PbForwardStatus.FORWARD_STATUS_ABORTED,
};

const COMPENSATION: Record<CompensationStatus, PbCompensationStatus> = {
  NOT_NEEDED: PbCompensationStatus.COMPENSATION_STATUS_NOT_NEEDED,
  RUNNING: PbCompensationStatus.COMPENSATION_STATUS_RUNNING,
  SUCCEEDED: PbCompensationStatus.COMPENSATION_STATUS_SUCCEEDED,
  FAILED: PbCompensationStatus.COMPENSATION_STATUS_FAILED,
};

const STEP_STATUS: Record<StepStatus, PbStepStatus> = {
  PENDING: PbStepStatus.STEP_STATUS_PENDING,
  RUNNING: PbStepStatus.STEP_STATUS_RUNNING,
  SUCCEEDED: PbStepStatus.STEP_STATUS_SUCCEEDED,
  FAILED: PbStepStatus.STEP_STATUS_FAILED,
  SKIPPED: PbStepStatus.STEP_STATUS_SKIPPED,
};

const OPERATION: Record<Operation, PbOperation> = {
  execute: PbOperation.OPERATION_EXECUTE,
  compensate: PbOperation.OPERATION_COMPENSATE,
  try: PbOperation.OPERATION_TRY,
  confirm: PbOperation.OPERATION_CONFIRM,
  cancel: PbOperation.OPERATION_CANCEL,
};

const KIND: Record<TransactionKind, PbTransactionKind> = {
  SAGA: PbTransactionKind.TRANSACTION_KIND_SAGA,
  TCC: PbTransactionKind.TRANSACTION_KIND_TCC,
};

const TCC_PHASE: Record<TccPhase, PbTccPhase> = {
  TRY: PbTccPhase.TCC_PHASE_TRY,
  CONFIRM: PbTccPhase.TCC_PHASE_CONFIRM,
  CANCEL: PbTccPhase.TCC_PHASE_CANCEL,
};

const ATTEMPT_OUTCOME: Record<AttemptOutcome, PbAttemptOutcome> = {
  IN_FLIGHT: PbAttemptOutcome.ATTEMPT_OUTCOME_IN_FLIGHT,
  SUCCEEDED: PbAttemptOutcome.ATTEMPT_OUTCOME_SUCCEEDED,
  FAILED: PbAttemptOutcome.ATTEMPT_OUTCOME_FAILED,
  ERROR: PbAttemptOutcome.ATTEMPT_OUTCOME_ERROR,
};

const OUTCOME: Record<SagaOutcome, PbSagaOutcome> = {
  COMPLETED: PbSagaOutcome.SAGA_OUTCOME_COMPLETED,
  COMPENSATED: PbSagaOutcome.SAGA_OUTCOME_COMPENSATED,
  MANUAL: PbSagaOutcome.SAGA_OUTCOME_MANUAL,
  RESOLVED: PbSagaOutcome.SAGA_OUTCOME_RESOLVED,
  STILL_RUNNING: PbSagaOutcome.SAGA_OUTCOME_STILL_RUNNING,
};

export function sagaStateToPb(state: SagaState): PbSagaState {
  return SAGA_STATE[state];
}

export function forwardStatusToPb(status: ForwardStatus): PbForwardStatus {
  return FORWARD[status];
}

export function compensationStatusToPb(status: CompensationStatus): PbCompensationStatus {
  return COMPENSATION[status];
}

export function operationToPb(op: Operation): PbOperation {
  return OPERATION[op];
}

export function transactionKindToPb(kind: TransactionKind): PbTransactionKind {
  return KIND[kind];
}

export function tccPhaseToPb(phase: TccPhase | undefined): PbTccPhase {
  return phase === undefined ? PbTccPhase.TCC_PHASE_UNSPECIFIED : TCC_PHASE[phase];
}

function kindFromPb(kind: PbTransactionKind): TransactionKind {
  switch (kind) {
    case PbTransactionKind.TRANSACTION_KIND_UNSPECIFIED:
    case PbTransactionKind.TRANSACTION_KIND_SAGA:
      return 'SAGA';
    case PbTransactionKind.TRANSACTION_KIND_TCC:
      return 'TCC';
    default:
      throw invalidArgument('kind', `unknown transaction kind ${String(kind)}`);
  }
}

export function startSagaFromPb(req: StartSagaRequest): StartSagaInput {
  const kind = kindFromPb(req.kind);
  return {
    ...(kind === 'TCC' ? { kind } : {}),
    sagaId: req.sagaId,
    name: req.name,
    steps: req.steps.map((s) => ({
      name: s.name,
      participant: s.participant,
      action: s.action,
      compensateAction: s.compensateAction,
      payload: Buffer.from(s.payload),
      dependsOn: s.dependsOn,
      noCompensation: s.noCompensation,
      retry: policyFromPb(s.retry),
      compensationRetry: policyFromPb(s.compensationRetry),
      metadata: s.metadata,
    })),
    deadlineMs: req.options?.deadlineMs ?? 0,
    defaultRetry: policyFromPb(req.options?.defaultRetry),
    defaultCompensationRetry: policyFromPb(req.options?.defaultCompensationRetry),
    metadata: req.metadata,
    waitMs: req.waitMs,
  };
}

function policyFromPb(p: PbRetryPolicy | undefined): RetryPolicyInput | undefined {
  if (p === undefined) return undefined;
  return {
    maxAttempts: p.maxAttempts,
    attemptTimeoutMs: p.attemptTimeoutMs,
    initialBackoffMs: p.initialBackoffMs,
    maxBackoffMs: p.maxBackoffMs,
    backoffMultiplier: p.backoffMultiplier,
  };
}

function policyToPb(p: RetryPolicy): PbRetryPolicy {
  return { ...p };
}

export function startSagaResultToPb(r: StartSagaResult): StartSagaResponse {
  return {
    sagaId: r.sagaId,
    created: r.created,
    state: SAGA_STATE[r.state],
    outcome: OUTCOME[r.outcome],
    failedStep: r.failedStep,
    failureReason: r.failureReason,
  };
}

const date = (ms: number | undefined): Date | undefined => (ms === undefined ? undefined : new Date(ms));

export function sagaViewToPb(v: SagaView): PbSaga {
  return {
    sagaId: v.sagaId,
    name: v.name,
    state: SAGA_STATE[v.state],
    forwardStatus: FORWARD[v.forwardStatus],
    compensationStatus: COMPENSATION[v.compensationStatus],
    steps: v.steps.map((s, i) => {
      const def = v.definition.steps[i];
      return {
        definition:
          def === undefined
            ? undefined
            : {
                name: def.name,
                participant: def.participant,
                action: def.action,
                compensateAction: def.compensateAction,
                payload: def.payload,
                dependsOn: [...def.dependsOn],
                noCompensation: def.noCompensation,
                retry: policyToPb(def.retry),
                compensationRetry: policyToPb(def.compensationRetry),
                metadata: { ...def.metadata },
              },
        executeStatus: STEP_STATUS[s.executeStatus],
        compensateStatus: STEP_STATUS[s.compensateStatus],
        output: s.output ?? Buffer.alloc(0),
        attempts: s.attempts.map((a) => ({
          operation: OPERATION[a.operation],
          number: a.number,
          startedAt: date(a.startedAt),
          finishedAt: date(a.finishedAt),
          outcome: ATTEMPT_OUTCOME[a.outcome],
          errorCode: a.errorCode,
          errorMessage: a.errorMessage,
          resent: a.resent,
        })),
        nextAttemptAt: date(s.nextAttemptAt),
        confirmStatus: s.confirmStatus === undefined ? PbStepStatus.STEP_STATUS_UNSPECIFIED : STEP_STATUS[s.confirmStatus],
      };
    }),
    options: { deadlineMs: v.definition.deadlineMs, defaultRetry: undefined, defaultCompensationRetry: undefined },
    metadata: { ...v.definition.metadata },
    createdAt: date(v.createdAt),
    updatedAt: date(v.updatedAt),
    finishedAt: date(v.finishedAt),
    deadline: date(v.deadlineAt),
    failedStep: v.failedStep,
    failureReason: v.failureReason,
    resolutionNote: v.resolutionNote,
    kind: KIND[v.kind],
    phase: tccPhaseToPb(v.phase),
    version: v.version,
  };
}

export function summaryToPb(s: SagaSummary): PbSagaSummary {
  return {
    sagaId: s.sagaId,
    name: s.name,
    kind: KIND[s.kind],
    state: SAGA_STATE[s.state],
    createdAt: date(s.createdAt),
    updatedAt: date(s.updatedAt),
    finishedAt: date(s.finishedAt),
    failedStep: s.failedStep,
    failureReason: s.failureReason,
  };
}

export function listFilterFromPb(req: ListSagasRequest, maxPageSize: number): ListSagasFilter {
  const states = req.states.map((s, i) => {
    const state = SAGA_STATE_FROM_PB.get(s);
    if (state === undefined) throw invalidArgument(`states[${i}]`, `unknown saga state ${s}`);
    return state;
  });
  if (req.pageSize > maxPageSize) throw invalidArgument('page_size', `must be at most ${maxPageSize}`);
  return {
    states,
    name: req.name,
    createdAfter: req.createdAfter?.getTime(),
    createdBefore: req.createdBefore?.getTime(),
    pageSize: req.pageSize === 0 ? 100 : req.pageSize,
    pageToken: req.pageToken,
  };
}
