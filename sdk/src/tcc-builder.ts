import type { PayloadInput } from './payload.js';
import { SagaBuilder, type SagaStarter } from './saga-builder.js';
import type { RetryPolicy, SagaDefinition, SagaOptions, StartSagaOptions } from './saga-definition.js';
import type { StartSagaResult } from './saga-record.js';

/** How to run one TCC branch (everything but its name). */
export interface TccBranchOptions {
  /** Registered participant name; it must serve saga.v1.TccParticipant. */
  participant: string;
  /** The action passed to Try, Confirm and Cancel (e.g. "reserve-stock"). */
  action: string;
  /** Passed to Try, Confirm and Cancel; see {@link PayloadInput}. */
  payload?: PayloadInput;
  /** Branches whose Try must succeed before this one's is sent; when any branch declares them, the Tries form a graph. */
  dependsOn?: readonly string[];
  /** Retry policy of Try (bounded also by the transaction's `deadlineMs`). */
  tryRetry?: RetryPolicy;
  /** Retry policy of Confirm and Cancel; exhausted => the transaction goes to MANUAL. */
  confirmCancelRetry?: RetryPolicy;
  /** Passed to the participant with the transaction's metadata (branch entries win). */
  metadata?: Readonly<Record<string, string>>;
}

/**
 * Fluent TCC transaction:
 * `client.tcc('checkout').branch('stock', {...}).branch('points', {...}).options({ deadlineMs }).start()`.
 * Started with StartSaga kind TCC: every branch's Try, then Confirm on every
 * branch, or Cancel on every branch that was tried. `options.deadlineMs`
 * bounds the Try phase; `defaultRetry` applies to Try, `defaultCompensationRetry`
 * to Confirm and Cancel.
 */
export class TccBuilder {
  private readonly saga: SagaBuilder;

  constructor(starter: SagaStarter, name: string) {
    this.saga = new SagaBuilder(starter, name);
  }

  /** Adds a branch; Tries run in the order added unless some branch declares `dependsOn`. */
  branch(name: string, options: TccBranchOptions): this {
    const { tryRetry, confirmCancelRetry, ...rest } = options;
    this.saga.step(name, { ...rest, retry: tryRetry, compensationRetry: confirmCancelRetry });
    return this;
  }

  options(options: SagaOptions): this {
    this.saga.options(options);
    return this;
  }

  metadata(metadata: Readonly<Record<string, string>>): this {
    this.saga.metadata(metadata);
    return this;
  }

  /** The definition built so far (kind TCC); throws a TypeError naming the first invalid field. */
  definition(): SagaDefinition {
    return { ...this.saga.definition(), kind: 'TCC' };
  }

  /** Starts the transaction. */
  start(options: StartSagaOptions = {}): Promise<StartSagaResult> {
    return this.saga.startWith(this.definition(), options);
  }
}
