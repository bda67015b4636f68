import {
  AttemptOutcome as ProtoAttemptOutcome,
  CompensationStatus as ProtoCompensationStatus,
  ForwardStatus as ProtoForwardStatus,
  Operation as ProtoOperation,
  SagaOutcome as ProtoSagaOutcome,
  SagaState as ProtoSagaState,
  StepStatus as ProtoStepStatus,
  TccPhase as ProtoTccPhase,
  TransactionKind as ProtoTransactionKind,
} from '@saga/proto';
import { enumCodec } from './enum-codec.js';
import type {
  AttemptOperation,
  AttemptOutcome,
  CompensationStatus,
  ForwardStatus,
  SagaOutcome,
  SagaState,
  StepStatus,
  TccPhase,
  TransactionKind,
} from './saga-enums.js';

// Generated enum <-> SDK name, one codec per enum (internal).

export const sagaStateCodec = enumCodec<SagaState, ProtoSagaState>(
  {
    UNSPECIFIED: ProtoSagaState.SAGA_STATE_UNSPECIFIED,
    RUNNING: ProtoSagaState.SAGA_STATE_RUNNING,
    COMPENSATING: ProtoSagaState.SAGA_STATE_COMPENSATING,
    COMPLETED: ProtoSagaState.SAGA_STATE_COMPLETED,
    COMPENSATED: ProtoSagaState.SAGA_STATE_COMPENSATED,
    MANUAL: ProtoSagaState.SAGA_STATE_MANUAL,
    RESOLVED: ProtoSagaState.SAGA_STATE_RESOLVED,
  },
  'UNSPECIFIED',
);

export const sagaOutcomeCodec = enumCodec<SagaOutcome, ProtoSagaOutcome>(
  {
    UNSPECIFIED: ProtoSagaOutcome.SAGA_OUTCOME_UNSPECIFIED,
    COMPLETED: ProtoSagaOutcome.SAGA_OUTCOME_COMPLETED,
    COMPENSATED: ProtoSagaOutcome.SAGA_OUTCOME_COMPENSATED,
    MANUAL: ProtoSagaOutcome.SAGA_OUTCOME_MANUAL,
    RESOLVED: ProtoSagaOutcome.SAGA_OUTCOME_RESOLVED,
    STILL_RUNNING: ProtoSagaOutcome.SAGA_OUTCOME_STILL_RUNNING,
  },
  'UNSPECIFIED',
);

export const forwardStatusCodec = enumCodec<ForwardStatus, ProtoForwardStatus>(
  {
    UNSPECIFIED: ProtoForwardStatus.FORWARD_STATUS_UNSPECIFIED,
    RUNNING: ProtoForwardStatus.FORWARD_STATUS_RUNNING,
    SUCCEEDED: ProtoForwardStatus.FORWARD_STATUS_SUCCEEDED,
    FAILED: ProtoForwardStatus.FORWARD_STATUS_FAILED,
    DEADLINE_EXCEEDED: ProtoForwardStatus.FORWARD_STATUS_DEADLINE_EXCEEDED,
    ABORTED: ProtoForwardStatus.FORWARD_STATUS_ABORTED,
  },
  'UNSPECIFIED',
);

export const compensationStatusCodec = enumCodec<CompensationStatus, ProtoCompensationStatus>(
  {
    UNSPECIFIED: ProtoCompensationStatus.COMPENSATION_STATUS_UNSPECIFIED,
    NOT_NEEDED: ProtoCompensationStatus.COMPENSATION_STATUS_NOT_NEEDED,
    RUNNING: ProtoCompensationStatus.COMPENSATION_STATUS_RUNNING,
    SUCCEEDED: ProtoCompensationStatus.COMPENSATION_STATUS_SUCCEEDED,
    FAILED: ProtoCompensationStatus.COMPENSATION_STATUS_FAILED,
  },
  'UNSPECIFIED',
);

export const stepStatusCodec = enumCodec<StepStatus, ProtoStepStatus>(
  {
    UNSPECIFIED: ProtoStepStatus.STEP_STATUS_UNSPECIFIED,
    PENDING: ProtoStepStatus.STEP_STATUS_PENDING,
    RUNNING: ProtoStepStatus.STEP_STATUS_RUNNING,
    SUCCEEDED: ProtoStepStatus.STEP_STATUS_SUCCEEDED,
    FAILED: ProtoStepStatus.STEP_STATUS_FAILED,
    SKIPPED: ProtoStepStatus.STEP_STATUS_SKIPPED,
  },
  'UNSPECIFIED',
);

export const attemptOperationCodec = enumCodec<AttemptOperation, ProtoOperation>(
  {
    UNSPECIFIED: ProtoOperation.OPERATION_UNSPECIFIED,
    EXECUTE: ProtoOperation.OPERATION_EXECUTE,
    COMPENSATE: ProtoOperation.OPERATION_COMPENSATE,
    TRY: ProtoOperation.OPERATION_TRY,
    CONFIRM: ProtoOperation.OPERATION_CONFIRM,
    CANCEL: ProtoOperation.OPERATION_CANCEL,
  },
  'UNSPECIFIED',
);

export const transactionKindCodec = enumCodec<TransactionKind, ProtoTransactionKind>(
  {
    UNSPECIFIED: ProtoTransactionKind.TRANSACTION_KIND_UNSPECIFIED,
    SAGA: ProtoTransactionKind.TRANSACTION_KIND_SAGA,
    TCC: ProtoTransactionKind.TRANSACTION_KIND_TCC,
  },
  'UNSPECIFIED',
);

export const tccPhaseCodec = enumCodec<TccPhase, ProtoTccPhase>(
  {
    UNSPECIFIED: ProtoTccPhase.TCC_PHASE_UNSPECIFIED,
    TRY: ProtoTccPhase.TCC_PHASE_TRY,
    CONFIRM: ProtoTccPhase.TCC_PHASE_CONFIRM,
    CANCEL: ProtoTccPhase.TCC_PHASE_CANCEL,
  },
  'UNSPECIFIED',
);

export const attemptOutcomeCodec = enumCodec<AttemptOutcome, ProtoAttemptOutcome>(
  {
    UNSPECIFIED: ProtoAttemptOutcome.ATTEMPT_OUTCOME_UNSPECIFIED,
    IN_FLIGHT: ProtoAttemptOutcome.ATTEMPT_OUTCOME_IN_FLIGHT,
    SUCCEEDED: ProtoAttemptOutcome.ATTEMPT_OUTCOME_SUCCEEDED,
    FAILED: ProtoAttemptOutcome.ATTEMPT_OUTCOME_FAILED,
    ERROR: ProtoAttemptOutcome.ATTEMPT_OUTCOME_ERROR,
  },
  'UNSPECIFIED',
);
