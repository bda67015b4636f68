// Domain types of sagas. The engine and the store speak only these; the gRPC edge
// converts the generated protobuf types to and from them.

export type SagaState = 'RUNNING' | 'COMPENSATING' | 'COMPLETED' | 'COMPENSATED' | 'MANUAL' | 'RESOLVED';
export type ForwardStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'DEADLINE_EXCEEDED' | 'ABORTED';
export type CompensationStatus = 'NOT_NEEDED' | 'RUNNING' | 'SUCCEEDED' | 'FAILED';
export type StepStatus = 'PENDING' | 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'SKIPPED';
export type SagaOperation = 'execute' | 'compensate';
/** The calls of a TCC branch. */
export type TccOperation = 'try' | 'confirm' | 'cancel';
export type Operation = SagaOperation | TccOperation;
/** SAGA: Execute forward, Compensate in reverse; TCC: Try, then Confirm or Cancel (see saga.proto TransactionKind). */
export type TransactionKind = 'SAGA' | 'TCC';
export type TccPhase = 'TRY' | 'CONFIRM' | 'CANCEL';
export type AttemptOutcome = 'IN_FLIGHT' | 'SUCCEEDED' | 'FAILED' | 'ERROR';

/** States in which the engine still has work to do. */
export const ACTIVE_STATES: readonly SagaState[] = ['RUNNING', 'COMPENSATING'];
/** States a saga never leaves. */
export const TERMINAL_STATES: readonly SagaState[] = ['COMPLETED', 'COMPENSATED', 'RESOLVED'];
/** States that answer a wait for the outcome (MANUAL waits for a human, but is an outcome). */
export const OUTCOME_STATES: readonly SagaState[] = ['COMPLETED', 'COMPENSATED', 'MANUAL', 'RESOLVED'];

/** A retry policy as requested: 0 means "use the default". */
export interface RetryPolicyInput {
  maxAttempts: number;
  attemptTimeoutMs: number;
  initialBackoffMs: number;
  maxBackoffMs: number;
  backoffMultiplier: number;
}

/** A retry policy with every default applied. */
export type RetryPolicy = Readonly<RetryPolicyInput>;

export interface StepDefinitionInput {
  name: string;
  participant: string;
  action: string;
  compensateAction: string;
  payload: Buffer;
  dependsOn: string[];
  noCompensation: boolean;
  retry: RetryPolicyInput | undefined;
  compensationRetry: RetryPolicyInput | undefined;
  metadata: Record<string, string>;
}

/** What a client asks for in StartSaga, before validation and defaults. */
export interface StartSagaInput {
  sagaId: string;
  name: string;
  steps: StepDefinitionInput[];
  deadlineMs: number;
  defaultRetry: RetryPolicyInput | undefined;
  defaultCompensationRetry: RetryPolicyInput | undefined;
  metadata: Record<string, string>;
  waitMs: number;
  /** Absent = SAGA. */
  kind?: TransactionKind;
}

/** A validated step, policies resolved, dependencies as indexes. */
export interface StepDefinition {
  readonly name: string;
  readonly participant: string;
  readonly action: string;
  readonly compensateAction: string;
  readonly payload: Buffer;
  readonly dependsOn: readonly string[];
  readonly noCompensation: boolean;
  readonly retry: RetryPolicy;
  readonly compensationRetry: RetryPolicy;
  readonly metadata: Readonly<Record<string, string>>;
}

/** A validated saga definition as stored in the log. */
export interface SagaDefinition {
  readonly name: string;
  readonly steps: readonly StepDefinition[];
  /** 0 = no deadline. */
  readonly deadlineMs: number;
  readonly metadata: Readonly<Record<string, string>>;
  /** True when any step declares dependsOn (the saga is a graph, not a sequence). */
  readonly graph: boolean;
  /** TCC for a TCC transaction; absent = a saga. Stored with the definition, so recovery knows it. */
  readonly kind?: 'TCC';
  /**
   * W3C traceparent of the saga's span when tracing is on: stored so that the
   * calls of a saga resumed after a restart stay in its trace. Not part of the
   * definition's hash.
   */
  readonly traceParent?: string;
}

/** One call of Execute or Compensate: a row of the compensation log. */
export interface AttemptRecord {
  operation: Operation;
  number: number;
  startedAt: number;
  finishedAt: number | undefined;
  outcome: AttemptOutcome;
  errorCode: string;
  errorMessage: string;
  resent: number;
}

export interface StepRecord {
  executeStatus: StepStatus;
  compensateStatus: StepStatus;
  output: Buffer | undefined;
  attempts: AttemptRecord[];
  nextAttemptAt: number | undefined;
  /** TCC branches: the Confirm's status (executeStatus is the Try's, compensateStatus the Cancel's). */
  confirmStatus?: StepStatus;
}

/** The full record of a saga, as returned by GetSaga. */
export interface SagaView {
  sagaId: string;
  name: string;
  kind: TransactionKind;
  /** TCC only: the phase it is in or ended in. */
  phase: TccPhase | undefined;
  state: SagaState;
  forwardStatus: ForwardStatus;
  compensationStatus: CompensationStatus;
  definition: SagaDefinition;
  steps: StepRecord[];
  createdAt: number;
  updatedAt: number;
  finishedAt: number | undefined;
  deadlineAt: number | undefined;
  failedStep: string;
  failureReason: string;
  resolutionNote: string;
  version: number;
}

export interface SagaSummary {
  sagaId: string;
  name: string;
  kind: TransactionKind;
  state: SagaState;
  createdAt: number;
  updatedAt: number;
  finishedAt: number | undefined;
  failedStep: string;
  failureReason: string;
}

export interface ListSagasFilter {
  states: SagaState[];
  name: string;
  createdAfter: number | undefined;
  createdBefore: number | undefined;
  pageSize: number;
  /** Opaque cursor from a previous page. */
  pageToken: string;
}

export type SagaOutcome = 'COMPLETED' | 'COMPENSATED' | 'MANUAL' | 'RESOLVED' | 'STILL_RUNNING';

export interface StartSagaResult {
  sagaId: string;
  created: boolean;
  state: SagaState;
  outcome: SagaOutcome;
  failedStep: string;
  failureReason: string;
}
