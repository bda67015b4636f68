import type { Logger } from './logger.js';

/** Everything a step handler gets for one Execute or Compensate call. */
export interface StepContext {
  readonly sagaId: string;
  readonly sagaName: string;
  /** The step's name within the saga. */
  readonly step: string;
  /** The action called: the step's action (Execute) or compensate action (Compensate). */
  readonly action: string;
  /** 1-based attempt number of this operation. */
  readonly attempt: number;
  /**
   * Compensate, TCC Confirm and Cancel: RetrySagas of the saga so far (0
   * before the first). The barrier runs one that answered FAILED again at a
   * later epoch.
   */
  readonly compensationEpoch: number;
  /** Stable across retries of the same operation: "<sagaId>/<step>/execute|compensate|try|confirm|cancel". */
  readonly idempotencyKey: string;
  /** After this instant the coordinator has given up on this attempt. */
  readonly deadline: Date;
  /** Aborted when the call is cancelled or its deadline passes. */
  readonly signal: AbortSignal;
  /** The step's payload, as given to StartSaga. */
  readonly payload: Buffer;
  /** Outputs of the steps that succeeded so far, by step name (Compensate: includes this step's own). */
  readonly outputs: ReadonlyMap<string, Buffer>;
  /** The saga's metadata merged with the step's. */
  readonly metadata: Readonly<Record<string, string>>;
  /** Child logger bound to sagaId, step, action and attempt. */
  readonly logger: Logger;
}

/**
 * Performs (or undoes) a step. Return output bytes or nothing for success,
 * throw a TerminalError for a business failure, throw anything else for a
 * transient error that the coordinator retries.
 */
export type StepHandler = (ctx: StepContext) => Promise<Uint8Array | void> | Uint8Array | void;

/** The handlers registered for one action name. */
export interface StepHandlers {
  /** Called by Execute for steps whose `action` is this name. */
  execute?: StepHandler;
  /** Called by Compensate for steps whose compensate action is this name. */
  compensate?: StepHandler;
  /** TCC: called by Try for branches whose `action` is this name (reserve; TerminalError = cannot). */
  try?: StepHandler;
  /** TCC: called by Confirm once every branch's Try succeeded (use what Try reserved). */
  confirm?: StepHandler;
  /** TCC: called by Cancel for every branch whose Try was sent (release what Try reserved). */
  cancel?: StepHandler;
}

/** The producer's answer to a transactional-message check-back. */
export type TransactionDecision = 'COMMIT' | 'ROLLBACK' | 'UNKNOWN';

/** Everything a check-back handler gets. */
export interface CheckTransactionContext {
  readonly messageId: string;
  /** The business key given to PrepareMessage (e.g. the order id). */
  readonly key: string;
  readonly subject: string;
  readonly headers: Readonly<Record<string, string>>;
  /** 1-based number of this check-back. */
  readonly check: number;
  readonly deadline: Date;
  readonly signal: AbortSignal;
  readonly logger: Logger;
}

/** Answers whether the local transaction behind a prepared message committed. */
export type CheckTransactionHandler = (
  ctx: CheckTransactionContext,
) => Promise<TransactionDecision> | TransactionDecision;
