import type { PayloadInput } from './payload.js';

/**
 * Retry policy of one direction of a step. Every field is optional; unset or
 * 0 means "the saga's default, then the coordinator's default". Durations in
 * whole milliseconds.
 */
export interface RetryPolicy {
  /** Attempts in total, including the first. */
  maxAttempts?: number;
  /** Deadline of each call to the participant. */
  attemptTimeoutMs?: number;
  /** Backoff cap before the second attempt. */
  initialBackoffMs?: number;
  /** Upper bound of any backoff. */
  maxBackoffMs?: number;
  /** Growth factor of the backoff cap, >= 1. */
  backoffMultiplier?: number;
}

/** How to run one step (everything but its name). */
export interface StepOptions {
  /** Registered participant name (the coordinator resolves it to an address). */
  participant: string;
  /** Action passed to the participant's Execute. */
  action: string;
  /** Action passed to Compensate; default: `action`. */
  compensateAction?: string;
  /** Passed to Execute and Compensate; see {@link PayloadInput} for the encoding. */
  payload?: PayloadInput;
  /**
   * Steps this one waits for. When no step of a saga declares dependencies the
   * steps run in the order given; when any does, the saga is a graph.
   */
  dependsOn?: readonly string[];
  /** True for steps with nothing to undo; they are never sent Compensate. */
  noCompensation?: boolean;
  /** Retry policy of Execute. */
  retry?: RetryPolicy;
  /** Retry policy of Compensate; exhausted => the saga goes to MANUAL. */
  compensationRetry?: RetryPolicy;
  /** Passed to the participant with the saga's metadata (step entries win). */
  metadata?: Readonly<Record<string, string>>;
}

/** One step of a saga definition. */
export interface StepDefinition extends StepOptions {
  /** Unique within the saga. */
  name: string;
}

/** Saga-wide options. */
export interface SagaOptions {
  /** Forward steps must all succeed within this many ms of the start; 0 or unset = no deadline. */
  deadlineMs?: number;
  /** Default retry policy of every step's Execute. */
  defaultRetry?: RetryPolicy;
  /** Default retry policy of every step's Compensate. */
  defaultCompensationRetry?: RetryPolicy;
}

/** A complete saga definition, as sent to StartSaga. */
export interface SagaDefinition {
  /** Saga name, e.g. "place-order". */
  name: string;
  /**
   * 'SAGA' (default) or 'TCC': the steps are then branches that get Try,
   * then Confirm or Cancel (see TransactionKind in the proto).
   */
  kind?: 'SAGA' | 'TCC';
  /** At least one step. */
  steps: readonly StepDefinition[];
  options?: SagaOptions;
  /** Passed to every step's participant; not interpreted by the coordinator. */
  metadata?: Readonly<Record<string, string>>;
}

/** Options of starting a saga. */
export interface StartSagaOptions {
  /**
   * Client-chosen id, also the idempotency key: starting again with the same
   * id and definition returns the existing saga (`created: false`).
   */
  sagaId?: string;
  /** Wait up to this many ms for the outcome before answering; 0 = answer once accepted. */
  waitMs?: number;
  /** Deadline of the call in ms; default: the client's default plus `waitMs`. */
  deadlineMs?: number;
  signal?: AbortSignal;
}
