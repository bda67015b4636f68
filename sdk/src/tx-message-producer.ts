import { silentLogger, type Logger } from './logger.js';
import { checkInteger, checkNonEmptyString, invalidOption } from './option-validation.js';
import { SagaClientError } from './saga-client-error.js';
import type { CheckTransactionContext, CheckTransactionHandler, TransactionDecision } from './step-handler.js';
import { withMessageDefaults, type TxMessageClient } from './tx-message-client.js';
import { TxMessageDecidedError } from './tx-message-decided-error.js';
import type { TxMessageLog } from './tx-message-log.js';
import type { CheckPolicyOptions, TxMessage, TxMessageState } from './tx-message-types.js';

/** Options of {@link TxMessageProducer}. */
export interface TxMessageProducerOptions<Tx> {
  /** Client of the coordinator. Required; the producer does not close it. */
  client: TxMessageClient;
  /**
   * The name under which this producer's participant server is registered
   * with the coordinator; it answers the check-backs (see
   * {@link TxMessageProducer.checkTransactionHandler}). Required.
   */
  producer: string;
  /** The producer's own record of its messages, in its business database. Required. */
  log: TxMessageLog<Tx>;
  /** Check policy of messages that do not set one. Default: the coordinator's. */
  checkPolicy?: CheckPolicyOptions;
  /** Attempts of PrepareMessage and CommitMessage on transient errors (UNAVAILABLE, DEADLINE_EXCEEDED…). Default 3. */
  callAttempts?: number;
  /** Logs decisions and failed calls (never payloads). Default silent. */
  logger?: Logger;
}

/** What {@link TxMessageProducer.send} did. */
export interface TxMessageSendResult<T> {
  messageId: string;
  /** What the local transaction returned. */
  result: T;
  /**
   * COMMITTED normally. PREPARED when CommitMessage could not be made (the
   * coordinator is unreachable): the check-back will commit it. DISCARDED or
   * ROLLED_BACK when the coordinator gave up on the message before the commit
   * arrived (an alert was raised): the local change stands without its message.
   */
  state: TxMessageState;
}

/** Per-send options. */
export interface TxMessageSendOptions {
  /** Aborts before the local transaction starts (the message is then rolled back). */
  signal?: AbortSignal;
}

// gRPC codes after which the same call may succeed.
const TRANSIENT = new Set(['UNAVAILABLE', 'DEADLINE_EXCEEDED', 'RESOURCE_EXHAUSTED', 'ABORTED', 'INTERNAL', 'UNKNOWN', 'CANCELLED']);

/**
 * Sends transactional ("half") messages together with a local transaction:
 * PrepareMessage → the caller's local transaction, which also records the
 * message id in the producer's database → CommitMessage, or RollbackMessage
 * when the local transaction fails.
 *
 * Guarantees (with the check-back handler served by the producer's
 * ParticipantServer): the message is delivered if and only if the local
 * transaction committed, whichever process dies at whichever point; a
 * check-back that answered ROLLBACK makes a late local commit fail
 * ({@link TxMessageDecidedError}). Not guaranteed: effects outside the local
 * transaction, and delivery when the producer's database loses its record
 * before the coordinator decided.
 */
export class TxMessageProducer<Tx> {
  private readonly client: TxMessageClient;
  private readonly producer: string;
  private readonly log: TxMessageLog<Tx>;
  private readonly checkPolicy: CheckPolicyOptions | undefined;
  private readonly attempts: number;
  private readonly logger: Logger;
  /** Messages of this process between prepare and commit/rollback: a check-back answers UNKNOWN for them. */
  private readonly inFlight = new Set<string>();

  constructor(options: TxMessageProducerOptions<Tx>) {
    const owner = 'TxMessageProducer';
    if (typeof options !== 'object' || options === null) throw invalidOption(owner, 'options', 'an object', options);
    if (typeof options.client?.prepare !== 'function') throw invalidOption(owner, 'client', 'a TxMessageClient', options.client);
    if (typeof options.log?.transaction !== 'function' || typeof options.log.recordCommit !== 'function' || typeof options.log.resolve !== 'function') {
      throw invalidOption(owner, 'log', 'a TxMessageLog', options.log);
    }
    this.client = options.client;
    this.producer = checkNonEmptyString(owner, 'producer', options.producer);
    this.log = options.log;
    this.checkPolicy = options.checkPolicy;
    this.attempts = checkInteger(owner, 'callAttempts', options.callAttempts ?? 3, 1, 100);
    this.logger = options.logger ?? silentLogger();
  }

  /**
   * Prepares `message`, runs `local` in a transaction of the producer's
   * database (recording the message id in it), then commits the message; if
   * `local` throws, rolls the message back and rethrows. A failure of
   * PrepareMessage rejects before `local` runs. Reusing the `messageId` of a
   * message whose local transaction already committed (a retry after a crash)
   * rolls the new local transaction back, commits the message, and rejects
   * with {@link TxMessageDecidedError} (`decided: 'COMMITTED'`); a
   * `messageId` the coordinator has already decided rejects with it before
   * `local` runs.
   */
  async send<T>(
    message: TxMessage,
    local: (tx: Tx, messageId: string) => Promise<T>,
    options: TxMessageSendOptions = {},
  ): Promise<TxMessageSendResult<T>> {
    if (typeof local !== 'function') throw invalidOption('TxMessageProducer.send', 'local', 'a function', local);
    const full = withMessageDefaults({ ...message, checkPolicy: message.checkPolicy ?? this.checkPolicy });
    const messageId = full.messageId;
    const key = full.key ?? '';
    const log = this.logger.child({ messageId, subject: full.subject });
    options.signal?.throwIfAborted();
    this.inFlight.add(messageId);
    try {
      const prepared = await this.withRetries('PrepareMessage', () => this.client.prepare(full, this.producer));
      // The same id was decided before (a retry): running the local transaction now could contradict that.
      if (prepared.state !== 'PREPARED') {
        const decided = prepared.state === 'COMMITTED' ? 'COMMITTED' : 'ROLLED_BACK';
        throw new TxMessageDecidedError(messageId, decided, `the coordinator has it ${prepared.state}`);
      }
      let result: T;
      try {
        options.signal?.throwIfAborted();
        result = await this.log.transaction(async (tx) => {
          // The record first: an id decided before (a retry after a crash) stops here, before a business change can fail on it.
          await this.log.recordCommit(tx, messageId, key);
          return local(tx, messageId);
        });
      } catch (err) {
        // An earlier local transaction committed with this id (a retry after a crash): its message must go out.
        if (err instanceof TxMessageDecidedError && err.decided === 'COMMITTED') await this.commitAfterLocal(messageId, log);
        else await this.rollbackQuietly(messageId, err, log);
        throw err;
      }
      const state = await this.commitAfterLocal(messageId, log);
      return { messageId, result, state };
    } finally {
      this.inFlight.delete(messageId);
    }
  }

  /**
   * The CheckTransaction handler to serve from the producer's participant
   * server (`server.onCheckTransaction(producer.checkTransactionHandler())`).
   * Answers from the log: COMMIT if the local transaction committed,
   * ROLLBACK if not (recording that, so that it never will), UNKNOWN while
   * this process is still between prepare and commit for that message.
   */
  checkTransactionHandler(): CheckTransactionHandler {
    return async (ctx: CheckTransactionContext): Promise<TransactionDecision> => {
      if (this.inFlight.has(ctx.messageId)) return 'UNKNOWN';
      ctx.signal.throwIfAborted();
      const decision = await this.log.resolve(ctx.messageId, ctx.key);
      ctx.logger.info({ decision, check: ctx.check }, 'answered a check-back');
      return decision;
    };
  }

  private async commitAfterLocal(messageId: string, log: Logger): Promise<TxMessageState> {
    try {
      return await this.withRetries('CommitMessage', () => this.client.commit(messageId));
    } catch (err) {
      if (err instanceof SagaClientError && err.codeName === 'FAILED_PRECONDITION') {
        // The coordinator decided without us (discarded after its last check-back): say what it is.
        const state = await this.client.get(messageId).then((m) => m.state, () => 'DISCARDED' as const);
        log.error({ state }, 'the local transaction committed but the coordinator had already given up on its message');
        return state;
      }
      log.warn({ err }, 'CommitMessage failed; the check-back will commit the message');
      return 'PREPARED';
    }
  }

  private async rollbackQuietly(messageId: string, cause: unknown, log: Logger): Promise<void> {
    const reason = cause instanceof TxMessageDecidedError ? cause.message : 'the local transaction failed';
    try {
      await this.client.rollback(messageId, reason);
    } catch (err) {
      // Unless it was already committed (by an earlier send of the same id), the check-back finds no record and rolls it back.
      log.warn({ err }, 'RollbackMessage failed; the check-back will settle the message');
    }
  }

  private async withRetries<R>(method: string, call: () => Promise<R>): Promise<R> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await call();
      } catch (err) {
        const transient = err instanceof SagaClientError && TRANSIENT.has(err.codeName);
        if (!transient || attempt >= this.attempts) throw err;
        this.logger.debug({ method, attempt, code: err.codeName }, 'coordinator call failed; retrying');
        await new Promise((r) => setTimeout(r, 100 * 2 ** (attempt - 1)));
      }
    }
  }
}
