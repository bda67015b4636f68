import {
  Server,
  ServerCredentials,
  status,
  type sendUnaryData,
  type ServerUnaryCall,
} from '@grpc/grpc-js';
import {
  ParticipantService,
  StepOutcome,
  TccParticipantService,
  TransactionStatus,
  type CheckTransactionRequest,
  type CheckTransactionResponse,
  type ParticipantServer as ParticipantServiceImplementation,
  type StepCall,
  type StepResult,
  type TccParticipantServer as TccParticipantServiceImplementation,
} from '@saga/proto';
import { createCallSignal, effectiveDeadline, type CallSignal } from './call-signal.js';
import { silentLogger, type Logger } from './logger.js';
import { checkInteger, checkNonEmptyString, invalidOption } from './option-validation.js';
import { toStepContext } from './step-context.js';
import type {
  CheckTransactionHandler,
  StepContext,
  StepHandler,
  StepHandlers,
  TransactionDecision,
} from './step-handler.js';
import { isTerminalError } from './terminal-error.js';
import { transientErrorStatus } from './transient-error-status.js';

/** Options of {@link ParticipantServer}. */
export interface ParticipantServerOptions {
  /** Address to bind. Default `127.0.0.1`. */
  host?: string;
  /** Port to bind; `0` picks an ephemeral port. Default `0`. */
  port?: number;
  /** Server credentials. Default insecure (plaintext). */
  credentials?: ServerCredentials;
  /** Logger for call outcomes and errors (payloads are never logged). Default silent. */
  logger?: Logger;
  /** How long `close()` lets in-flight calls finish before cancelling them, in ms. Default 5000. */
  drainTimeoutMs?: number;
  /** Deadline given to handlers when a call carries none, in ms. Default 30000. */
  defaultHandlerDeadlineMs?: number;
}

/** The address the server listens on. */
export interface BoundAddress {
  host: string;
  port: number;
}

/** A saga step's two operations and a TCC branch's three: the keys of StepHandlers. */
type StepOperation = keyof StepHandlers;
const OPERATIONS: readonly StepOperation[] = ['execute', 'compensate', 'try', 'confirm', 'cancel'];

// Same rule as the contract's names (saga.proto): actions become log fields.
const ACTION_PATTERN = /^[A-Za-z][A-Za-z0-9_-]{0,127}$/;

const DECISIONS: Record<TransactionDecision, TransactionStatus> = {
  COMMIT: TransactionStatus.TRANSACTION_STATUS_COMMIT,
  ROLLBACK: TransactionStatus.TRANSACTION_STATUS_ROLLBACK,
  UNKNOWN: TransactionStatus.TRANSACTION_STATUS_UNKNOWN,
};

/**
 * A gRPC server implementing saga.v1.Participant by dispatching to handlers
 * registered per action name.
 *
 * Execute calls `handlers[call.action].execute`, Compensate calls
 * `handlers[call.action].compensate` (the call's action is the step's
 * compensate action), so one action may carry both handlers or the forward
 * and compensating actions may be registered separately.
 */
export class ParticipantServer {
  private readonly host: string;
  private readonly port: number;
  private readonly credentials: ServerCredentials;
  private readonly logger: Logger;
  private readonly drainTimeoutMs: number;
  private readonly defaultHandlerDeadlineMs: number;
  private readonly handlers = new Map<string, StepHandlers>();
  private readonly inFlight = new Map<Promise<void>, CallSignal>();
  private checkTransactionHandler: CheckTransactionHandler = () => 'UNKNOWN';
  private server: Server | undefined;
  private bound: BoundAddress | undefined;
  private closing: Promise<void> | undefined;

  constructor(options: ParticipantServerOptions = {}) {
    const owner = 'ParticipantServer';
    this.host = checkNonEmptyString(owner, 'host', options.host ?? '127.0.0.1');
    this.port = checkInteger(owner, 'port', options.port ?? 0, 0, 65_535);
    this.credentials = options.credentials ?? ServerCredentials.createInsecure();
    this.logger = options.logger ?? silentLogger();
    this.drainTimeoutMs = checkInteger(owner, 'drainTimeoutMs', options.drainTimeoutMs ?? 5_000, 0);
    this.defaultHandlerDeadlineMs = checkInteger(
      owner,
      'defaultHandlerDeadlineMs',
      options.defaultHandlerDeadlineMs ?? 30_000,
      1,
    );
  }

  /**
   * Registers the handlers of one action. May be called several times for the
   * same action to add the other handler; registering a handler twice throws.
   */
  register(action: string, handlers: StepHandlers): this {
    if (typeof action !== 'string' || !ACTION_PATTERN.test(action)) {
      throw invalidOption('ParticipantServer.register', 'action', `a name matching ${ACTION_PATTERN}`, action);
    }
    if (OPERATIONS.every((op) => handlers[op] === undefined)) {
      throw new TypeError(`ParticipantServer.register: action "${action}" needs an execute or a compensate handler (or TCC try/confirm/cancel handlers)`);
    }
    const existing = this.handlers.get(action) ?? {};
    const merged: StepHandlers = { ...existing };
    for (const op of OPERATIONS) {
      const handler = handlers[op];
      if (handler === undefined) continue;
      if (typeof handler !== 'function') throw invalidOption('ParticipantServer.register', op, 'a function', handler);
      if (existing[op] !== undefined) throw new Error(`ParticipantServer.register: action "${action}" already has ${/^[aeiou]/.test(op) ? 'an' : 'a'} ${op} handler`);
      merged[op] = handler;
    }
    this.handlers.set(action, merged);
    return this;
  }

  /** Sets the CheckTransaction handler (transactional messages). Without one the answer is UNKNOWN. */
  onCheckTransaction(handler: CheckTransactionHandler): this {
    if (typeof handler !== 'function') {
      throw invalidOption('ParticipantServer.onCheckTransaction', 'handler', 'a function', handler);
    }
    this.checkTransactionHandler = handler;
    return this;
  }

  /** The bound address once started. */
  get address(): BoundAddress | undefined {
    return this.bound;
  }

  /** Binds and starts serving; resolves to the bound address (the actual port when `port` was 0). */
  async start(): Promise<BoundAddress> {
    if (this.server !== undefined || this.closing !== undefined) {
      throw new Error('ParticipantServer: start() can be called once, before close()');
    }
    const server = new Server();
    const implementation: ParticipantServiceImplementation = {
      execute: (call, callback) => this.handleStep('execute', call, callback),
      compensate: (call, callback) => this.handleStep('compensate', call, callback),
      checkTransaction: (call, callback) => this.handleCheckTransaction(call, callback),
    };
    server.addService(ParticipantService, implementation);
    // TCC branches (TRANSACTION_KIND_TCC): served for every action; one without
    // a try/confirm/cancel handler answers UNIMPLEMENTED, as for Execute.
    const tcc: TccParticipantServiceImplementation = {
      try: (call, callback) => this.handleStep('try', call, callback),
      confirm: (call, callback) => this.handleStep('confirm', call, callback),
      cancel: (call, callback) => this.handleStep('cancel', call, callback),
    };
    server.addService(TccParticipantService, tcc);
    this.server = server;
    const hostPart = this.host.includes(':') && !this.host.startsWith('[') ? `[${this.host}]` : this.host;
    const port = await new Promise<number>((resolve, reject) => {
      server.bindAsync(`${hostPart}:${this.port}`, this.credentials, (err, boundPort) => {
        if (err) reject(err);
        else resolve(boundPort);
      });
    });
    this.bound = { host: this.host, port };
    this.logger.info({ host: this.host, port }, 'participant server listening');
    return this.bound;
  }

  /**
   * Stops accepting calls and lets in-flight ones finish for up to
   * `drainTimeoutMs`; then cancels the rest (their handlers' signals abort)
   * and waits for handlers within the same bound. Idempotent.
   */
  close(): Promise<void> {
    this.closing ??= this.drain();
    return this.closing;
  }

  private async drain(): Promise<void> {
    const server = this.server;
    if (server === undefined) return;
    const drainUntil = Date.now() + this.drainTimeoutMs;
    const shutDown = new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
    if (!(await settlesWithin(shutDown, this.drainTimeoutMs))) {
      this.logger.warn({ inFlight: this.inFlight.size }, 'drain timed out; cancelling in-flight calls');
      for (const callSignal of this.inFlight.values()) {
        callSignal.abort(new DOMException('the participant server is shutting down', 'AbortError'));
      }
      server.forceShutdown();
    }
    // Handlers of calls the client already gave up on may still be running (their answers go nowhere).
    const remaining = drainUntil - Date.now();
    if (this.inFlight.size > 0 && remaining > 0) {
      await settlesWithin(Promise.allSettled([...this.inFlight.keys()]), remaining);
    }
    this.logger.info('participant server closed');
  }

  private handleStep(
    op: StepOperation,
    call: ServerUnaryCall<{ call?: StepCall | undefined }, { result: StepResult | undefined }>,
    callback: sendUnaryData<{ result: StepResult | undefined }>,
  ): void {
    const stepCall = call.request.call;
    if (stepCall === undefined) {
      callback({ code: status.INVALID_ARGUMENT, details: 'call is required' });
      return;
    }
    const handler: StepHandler | undefined = this.handlers.get(stepCall.action)?.[op];
    if (handler === undefined) {
      callback({
        code: status.UNIMPLEMENTED,
        details: `no ${op} handler is registered for action "${stepCall.action}"`,
      });
      return;
    }
    const deadline = effectiveDeadline(call.getDeadline(), stepCall.deadline, this.defaultHandlerDeadlineMs);
    const callSignal = createCallSignal(call, deadline);
    const ctx = toStepContext(stepCall, deadline, callSignal.signal, this.logger);
    const startedAt = Date.now();
    this.track(
      callSignal,
      runStepHandler(handler, ctx).then(
        (result) => {
          ctx.logger.debug(
            { op, outcome: StepOutcome[result.outcome], errorCode: result.errorCode, ms: Date.now() - startedAt },
            'step call answered',
          );
          callback(null, { result });
        },
        (err: unknown) => {
          ctx.logger.warn({ op, err, ms: Date.now() - startedAt }, 'step handler failed (transient)');
          callback(transientErrorStatus(err, callSignal.signal));
        },
      ),
    );
  }

  private handleCheckTransaction(
    call: ServerUnaryCall<CheckTransactionRequest, CheckTransactionResponse>,
    callback: sendUnaryData<CheckTransactionResponse>,
  ): void {
    const request = call.request;
    const deadline = effectiveDeadline(call.getDeadline(), undefined, this.defaultHandlerDeadlineMs);
    const callSignal = createCallSignal(call, deadline);
    const logger = this.logger.child({ messageId: request.messageId, check: request.check });
    const handler = this.checkTransactionHandler;
    const answer = async (): Promise<TransactionStatus> => {
      const decision = await handler({
        messageId: request.messageId,
        key: request.key,
        subject: request.subject,
        headers: Object.freeze({ ...request.headers }),
        check: request.check,
        deadline,
        signal: callSignal.signal,
        logger,
      });
      const mapped = DECISIONS[decision];
      if (mapped === undefined) throw new TypeError(`CheckTransaction handler returned ${String(decision)}`);
      return mapped;
    };
    this.track(
      callSignal,
      answer().then(
        (decision) => callback(null, { status: decision }),
        (err: unknown) => {
          logger.warn({ err }, 'check-transaction handler failed (transient)');
          callback(transientErrorStatus(err, callSignal.signal));
        },
      ),
    );
  }

  /** Keeps a handler's task until it settles, so that close() can wait for it or cancel it. */
  private track(callSignal: CallSignal, task: Promise<void>): void {
    const tracked = task.finally(() => {
      callSignal.dispose();
      this.inFlight.delete(tracked);
    });
    this.inFlight.set(tracked, callSignal);
  }
}

/** Runs a step handler and turns its return value or TerminalError into a StepResult. */
async function runStepHandler(handler: StepHandler, ctx: StepContext): Promise<StepResult> {
  try {
    const output = await handler(ctx);
    if (output !== undefined && !(output instanceof Uint8Array)) {
      throw new TypeError(`the handler of action "${ctx.action}" must return a Uint8Array or nothing`);
    }
    return {
      outcome: StepOutcome.STEP_OUTCOME_SUCCEEDED,
      output: output === undefined ? Buffer.alloc(0) : Buffer.from(output),
      errorCode: '',
      errorMessage: '',
    };
  } catch (err) {
    if (!isTerminalError(err)) throw err;
    return {
      outcome: StepOutcome.STEP_OUTCOME_FAILED,
      output: Buffer.alloc(0),
      errorCode: err.code,
      errorMessage: err.message,
    };
  }
}

/** Resolves true when the promise settles within ms, false otherwise (the timer never leaks). */
async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([promise.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
