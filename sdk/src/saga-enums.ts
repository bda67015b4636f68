// The SDK's names for the contract's enums: the proto names without their
// prefix (SAGA_STATE_RUNNING -> 'RUNNING'). 'UNSPECIFIED' means unset or unknown.

/** Overall state of a saga. */
export type SagaState = 'UNSPECIFIED' | 'RUNNING' | 'COMPENSATING' | 'COMPLETED' | 'COMPENSATED' | 'MANUAL' | 'RESOLVED';
/** Answer to a wait for a saga's outcome; STILL_RUNNING when the wait ended first. */
export type SagaOutcome = 'UNSPECIFIED' | 'COMPLETED' | 'COMPENSATED' | 'MANUAL' | 'RESOLVED' | 'STILL_RUNNING';
/** Status of a saga's forward direction. */
export type ForwardStatus = 'UNSPECIFIED' | 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'DEADLINE_EXCEEDED' | 'ABORTED';
/** Status of a saga's compensation direction. */
export type CompensationStatus = 'UNSPECIFIED' | 'NOT_NEEDED' | 'RUNNING' | 'SUCCEEDED' | 'FAILED';
/** Status of one direction of one step. */
export type StepStatus = 'UNSPECIFIED' | 'PENDING' | 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'SKIPPED';
/** The operation of an attempt. */
export type AttemptOperation = 'UNSPECIFIED' | 'EXECUTE' | 'COMPENSATE' | 'TRY' | 'CONFIRM' | 'CANCEL';
/** What kind of transaction a saga record is: a saga, or a TCC transaction. */
export type TransactionKind = 'UNSPECIFIED' | 'SAGA' | 'TCC';
/** The phase of a TCC transaction ('UNSPECIFIED' for a saga). */
export type TccPhase = 'UNSPECIFIED' | 'TRY' | 'CONFIRM' | 'CANCEL';
/** How an attempt ended. */
export type AttemptOutcome = 'UNSPECIFIED' | 'IN_FLIGHT' | 'SUCCEEDED' | 'FAILED' | 'ERROR';

/** States in which a saga waits for nothing more from the coordinator (MANUAL waits for an operator). */
export const SETTLED_SAGA_STATES: ReadonlySet<SagaState> = new Set<SagaState>(['COMPLETED', 'COMPENSATED', 'MANUAL', 'RESOLVED']);
