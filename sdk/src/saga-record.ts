import type { RetryPolicy } from './saga-definition.js';
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

/** The answer of StartSaga. */
export interface StartSagaResult {
  sagaId: string;
  /** False when an earlier start with the same id and definition created the saga. */
  created: boolean;
  /** The saga's state when the coordinator answered. */
  state: SagaState;
  /** The outcome, or STILL_RUNNING when the wait ended first (or there was no wait). */
  outcome: SagaOutcome;
  /** The step whose failure started compensation; '' if none. */
  failedStep: string;
  failureReason: string;
}

/** One call (attempt) of Execute or Compensate (TCC: Try, Confirm or Cancel). */
export interface AttemptRecord {
  operation: AttemptOperation;
  /** 1-based attempt number within the operation. */
  number: number;
  startedAt: Date | undefined;
  /** Unset while in flight. */
  finishedAt: Date | undefined;
  outcome: AttemptOutcome;
  /** FAILED: the participant's error code; ERROR: the gRPC status name. */
  errorCode: string;
  errorMessage: string;
  /** Re-sends after a coordinator restart left the outcome unknown. */
  resent: number;
}

/** A step of a saga: its definition, status and every attempt. */
export interface StepRecord {
  name: string;
  participant: string;
  action: string;
  /** '' = same as action. */
  compensateAction: string;
  payload: Buffer;
  dependsOn: string[];
  noCompensation: boolean;
  retry: RetryPolicy | undefined;
  compensationRetry: RetryPolicy | undefined;
  metadata: Record<string, string>;
  executeStatus: StepStatus;
  compensateStatus: StepStatus;
  /** Output of a successful Execute (empty otherwise). */
  output: Buffer;
  /** Every attempt of Execute and Compensate, in start order. */
  attempts: AttemptRecord[];
  /** When the next attempt is scheduled (during backoff). */
  nextAttemptAt: Date | undefined;
  /** TCC branches: the Confirm's status (executeStatus is the Try's, compensateStatus the Cancel's); 'UNSPECIFIED' for saga steps. */
  confirmStatus: StepStatus;
}

/** A saga with its full record. */
export interface SagaRecord {
  sagaId: string;
  name: string;
  /** SAGA or TCC. */
  kind: TransactionKind;
  /** TCC: the phase it is in or ended in ('UNSPECIFIED' for a saga). */
  phase: TccPhase;
  state: SagaState;
  forwardStatus: ForwardStatus;
  compensationStatus: CompensationStatus;
  steps: StepRecord[];
  options: { deadlineMs: number; defaultRetry: RetryPolicy | undefined; defaultCompensationRetry: RetryPolicy | undefined };
  metadata: Record<string, string>;
  createdAt: Date | undefined;
  updatedAt: Date | undefined;
  /** Set once COMPLETED, COMPENSATED, MANUAL or RESOLVED. */
  finishedAt: Date | undefined;
  /** Unset when the saga has no deadline. */
  deadline: Date | undefined;
  failedStep: string;
  failureReason: string;
  resolutionNote: string;
  /** Increases with every durable change. */
  version: number;
}

/** A saga without its steps, as listed. */
export interface SagaSummary {
  sagaId: string;
  name: string;
  /** SAGA or TCC. */
  kind: TransactionKind;
  state: SagaState;
  createdAt: Date | undefined;
  updatedAt: Date | undefined;
  finishedAt: Date | undefined;
  failedStep: string;
  failureReason: string;
}

/** Filter and page of a list call. */
export interface ListSagasFilter {
  /** Only sagas in one of these states; empty or unset = all. */
  states?: readonly SagaState[];
  /** Only sagas with exactly this name. */
  name?: string;
  /** Only sagas created at or after this instant. */
  createdAfter?: Date;
  /** Only sagas created before this instant. */
  createdBefore?: Date;
  /** 1..1000; unset = the coordinator's default (100). */
  pageSize?: number;
  /** From a previous page's `nextPageToken`. */
  pageToken?: string;
}

/** One page of sagas, newest first. */
export interface SagaPage {
  sagas: SagaSummary[];
  /** '' when there are no more pages. */
  nextPageToken: string;
}

/** The result of waiting for a saga's outcome. */
export interface SagaOutcomeResult {
  sagaId: string;
  /** COMPLETED / COMPENSATED / MANUAL / RESOLVED, or STILL_RUNNING when the wait timed out first. */
  outcome: Exclude<SagaOutcome, 'UNSPECIFIED'>;
  /** The last snapshot seen, if any. */
  saga: SagaRecord | undefined;
}
