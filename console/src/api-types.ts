// The JSON the console API answers (coordinator/src/console), as the pages use it.

export type SagaState = 'RUNNING' | 'COMPENSATING' | 'COMPLETED' | 'COMPENSATED' | 'MANUAL' | 'RESOLVED';
export const SAGA_STATES: readonly SagaState[] = ['RUNNING', 'COMPENSATING', 'COMPLETED', 'COMPENSATED', 'MANUAL', 'RESOLVED'];
export type StepStatus = 'PENDING' | 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'SKIPPED';
export type MessageState = 'PREPARED' | 'COMMITTED' | 'ROLLED_BACK' | 'DISCARDED';
export const MESSAGE_STATES: readonly MessageState[] = ['PREPARED', 'COMMITTED', 'ROLLED_BACK', 'DISCARDED'];
export type Role = 'client' | 'operator' | 'producer';

export interface Session {
  roles: Role[];
  openForViewing: boolean;
}

/** A saga, or a TCC transaction (Try, then Confirm or Cancel). */
export type TransactionKind = 'SAGA' | 'TCC';
export type TccPhase = 'TRY' | 'CONFIRM' | 'CANCEL';

export interface SagaSummary {
  sagaId: string;
  name: string;
  kind: TransactionKind;
  state: SagaState;
  createdAt: number;
  updatedAt: number;
  finishedAt?: number;
  failedStep: string;
  failureReason: string;
}

export interface Attempt {
  operation: 'execute' | 'compensate' | 'try' | 'confirm' | 'cancel';
  number: number;
  startedAt: number;
  finishedAt?: number;
  outcome: 'IN_FLIGHT' | 'SUCCEEDED' | 'FAILED' | 'ERROR';
  errorCode: string;
  errorMessage: string;
  resent: number;
}

export interface SizedEntry {
  key: string;
  valueBytes: number;
}

export interface Step {
  index: number;
  name: string;
  participant: string;
  action: string;
  compensateAction: string;
  dependsOn: string[];
  noCompensation: boolean;
  /** A TCC branch: the Try's status (compensateStatus is the Cancel's, confirmStatus the Confirm's). */
  executeStatus: StepStatus;
  compensateStatus: StepStatus;
  confirmStatus?: StepStatus;
  payloadBytes: number;
  outputBytes?: number;
  metadata: SizedEntry[];
  nextAttemptAt?: number;
  attempts: Attempt[];
}

export interface Saga {
  sagaId: string;
  name: string;
  kind: TransactionKind;
  /** TCC: the phase it is in or ended in. */
  phase?: TccPhase;
  state: SagaState;
  forwardStatus: string;
  compensationStatus: string;
  graph: boolean;
  deadlineMs: number;
  metadata: SizedEntry[];
  createdAt: number;
  updatedAt: number;
  finishedAt?: number;
  deadlineAt?: number;
  failedStep: string;
  failureReason: string;
  resolutionNote: string;
  version: number;
  steps: Step[];
}

export interface ManualEntry extends SagaSummary {
  waitingSince: number;
  stuckStep: string;
}

export interface MessageSummary {
  messageId: string;
  subject: string;
  key: string;
  producer: string;
  state: MessageState;
  checks: number;
  maxChecks: number;
  createdAt: number;
  decidedAt?: number;
  deliverAt?: number;
  nextCheckAt?: number;
  publishedAt?: number;
  reason: string;
}

export interface Quantiles {
  count: number;
  p50?: number;
  p95?: number;
  p99?: number;
}

export interface Health {
  at: number;
  counts: Partial<Record<SagaState, number>>;
  inFlight: number;
  manual: number;
  compensation: { successRatio?: number; windowMs: number; threshold: number };
  slowCompensations: { thresholdMs: number; compensating: number; slow: { sagaId: string; sagaName: string; since: number; runningMs: number }[] };
  throughput: { windowMs: number; startedPerSecond: number; finishedPerSecond: number };
  latency: { execute: Quantiles; compensate: Quantiles; compensation: Quantiles };
  alerts: { kind: string; enabled: boolean; firing: boolean; value?: number; threshold: number; message: string }[];
}

export interface SagaChange {
  sagaId: string;
  name: string;
  state: SagaState;
  version: number;
  updatedAt: number;
}

export interface DeadLetter {
  eventId: string;
  subject: string;
  orderingKey: string;
  payloadBytes: number;
  createdAt: number;
  failedAt: number;
  attempts: number;
  error: string;
  waitingBehind: number;
}
