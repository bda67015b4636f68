import {
  credentials as grpcCredentials,
  Metadata,
  status,
  type ChannelCredentials,
  type ChannelOptions,
  type ClientReadableStream,
} from '@grpc/grpc-js';
import {
  CoordinatorClient,
  type AbortSagaResponse,
  type GetSagaResponse,
  type ListSagasResponse,
  type ResolveSagaResponse,
  type RetrySagaResponse,
  type StartSagaResponse,
  type WatchSagaResponse,
} from '@saga/proto';
import { sleep } from './abortable-sleep.js';
import { silentLogger, type Logger } from './logger.js';
import { checkInteger, checkNonEmptyString, invalidOption } from './option-validation.js';
import { SagaBuilder, type SagaStarter } from './saga-builder.js';
import { TccBuilder } from './tcc-builder.js';
import { SagaClientError, toSagaClientError } from './saga-client-error.js';
import { callMetadata, unaryCall, type UnaryInvoke } from './unary-call.js';
import {
  fromProtoSaga,
  fromProtoSagaSummary,
  fromStartSagaResponse,
  toListSagasRequest,
  toStartSagaRequest,
} from './saga-conversion.js';
import type { SagaDefinition, StartSagaOptions } from './saga-definition.js';
import { validateSagaDefinition, validateStartOptions } from './saga-definition-validation.js';
import { sagaStateCodec } from './saga-enum-codecs.js';
import { SETTLED_SAGA_STATES, type SagaState } from './saga-enums.js';
import type { ListSagasFilter, SagaOutcomeResult, SagaPage, SagaRecord, StartSagaResult } from './saga-record.js';

/** Options of {@link SagaClient}. */
export interface SagaClientOptions {
  /** The coordinator's `host:port`. Required. */
  address: string;
  /** Channel credentials. Default insecure (plaintext). */
  credentials?: ChannelCredentials;
  /** Deadline of every unary call in ms (StartSaga adds its `waitMs`). Default 10000. */
  defaultDeadlineMs?: number;
  /** Deadline of a watch stream in ms. Default 3600000 (1 hour). */
  defaultWatchDeadlineMs?: number;
  /** Metadata sent with every call (e.g. an operator token). Default none. */
  callMetadata?: Readonly<Record<string, string>>;
  /** grpc-js channel options. */
  channelOptions?: ChannelOptions;
  /** Logs retried watch streams. Default silent. */
  logger?: Logger;
  /**
   * StartSaga answered RESOURCE_EXHAUSTED (the coordinator shed load; nothing
   * was created) is tried again this many times in all, with capped
   * exponential backoff and full jitter, within the call's deadline.
   * Default 5; 1 = no retry.
   */
  startAttempts?: number;
  /** First backoff after a shed StartSaga, ms. Default 50 (cap 2000). */
  startBackoffMs?: number;
}

/** Per-call options. */
export interface CallOptions {
  /** Deadline of this call in ms; default: the client's. */
  deadlineMs?: number;
  /** Cancels the call; it then rejects with the signal's reason. */
  signal?: AbortSignal;
}

/** Options of {@link SagaClient.watch}. */
export interface WatchOptions {
  /** Ends the stream; iteration then throws the signal's reason. */
  signal?: AbortSignal;
  /** Deadline of the stream in ms; default: the client's `defaultWatchDeadlineMs`. */
  deadlineMs?: number;
}

/** Options of {@link SagaClient.waitForOutcome}. */
export interface WaitForOutcomeOptions {
  /** Give up after this many ms and answer STILL_RUNNING. Required. */
  timeoutMs: number;
  /** Cancels the wait; it then rejects with the signal's reason. */
  signal?: AbortSignal;
}


// Backoff of waitForOutcome between re-watches while the coordinator is unavailable.
const REWATCH_MIN_MS = 100;
/** Largest pause between StartSaga attempts refused as shed load. */
const START_BACKOFF_CAP_MS = 2_000;
const REWATCH_MAX_MS = 2_000;

/**
 * Client of the coordinator's saga API. Every call has a deadline; gRPC
 * errors reject with a {@link SagaClientError}.
 *
 * Payloads (`StepOptions.payload`) accept a `Uint8Array` (sent as is), a
 * `string` (UTF-8) or any other object (JSON-encoded).
 */
export class SagaClient implements SagaStarter {
  private readonly client: CoordinatorClient;
  private readonly defaultDeadlineMs: number;
  private readonly defaultWatchDeadlineMs: number;
  private readonly callMetadata: Readonly<Record<string, string>>;
  private readonly logger: Logger;
  private readonly startAttempts: number;
  private readonly startBackoffMs: number;
  private readonly streams = new Set<ClientReadableStream<WatchSagaResponse>>();
  private closed = false;

  constructor(options: SagaClientOptions) {
    const owner = 'SagaClient';
    if (typeof options !== 'object' || options === null) throw invalidOption(owner, 'options', 'an object', options);
    const address = checkNonEmptyString(owner, 'address', options.address);
    this.defaultDeadlineMs = checkInteger(owner, 'defaultDeadlineMs', options.defaultDeadlineMs ?? 10_000, 1);
    this.defaultWatchDeadlineMs = checkInteger(owner, 'defaultWatchDeadlineMs', options.defaultWatchDeadlineMs ?? 3_600_000, 1);
    for (const [key, value] of Object.entries(options.callMetadata ?? {})) {
      if (typeof value !== 'string') throw invalidOption(owner, `callMetadata.${key}`, 'a string', value);
    }
    this.callMetadata = { ...options.callMetadata };
    this.logger = options.logger ?? silentLogger();
    this.startAttempts = checkInteger(owner, 'startAttempts', options.startAttempts ?? 5, 1);
    this.startBackoffMs = checkInteger(owner, 'startBackoffMs', options.startBackoffMs ?? 50, 1);
    this.client = new CoordinatorClient(
      address,
      options.credentials ?? grpcCredentials.createInsecure(),
      options.channelOptions ?? {},
    );
  }

  /** Starts a fluent saga definition. */
  saga(name: string): SagaBuilder {
    return new SagaBuilder(this, name);
  }

  /** Starts a fluent TCC transaction definition (StartSaga kind TCC). */
  tcc(name: string): TccBuilder {
    return new TccBuilder(this, name);
  }

  /** Starts a saga from a complete definition (idempotent with the same `sagaId`). */
  async startSaga(definition: SagaDefinition, options: StartSagaOptions = {}): Promise<StartSagaResult> {
    validateSagaDefinition(definition);
    validateStartOptions(options);
    const request = toStartSagaRequest(definition, options);
    const deadlineMs = options.deadlineMs ?? this.defaultDeadlineMs + (options.waitMs ?? 0);
    const deadlineAt = Date.now() + deadlineMs;
    for (let attempt = 1; ; attempt++) {
      try {
        const response = await this.unary<StartSagaResponse>(
          'StartSaga',
          { deadlineMs: Math.max(1, deadlineAt - Date.now()), signal: options.signal },
          (md, opts, cb) => this.client.startSaga(request, md, opts, cb),
        );
        return fromStartSagaResponse(response);
      } catch (err) {
        // Shed load: the coordinator created nothing, so trying again is safe with or without a saga id.
        if (!(err instanceof SagaClientError) || err.codeName !== 'RESOURCE_EXHAUSTED' || attempt >= this.startAttempts) throw err;
        const pause = Math.random() * Math.min(START_BACKOFF_CAP_MS, this.startBackoffMs * 2 ** (attempt - 1));
        if (Date.now() + pause >= deadlineAt) throw err;
        this.logger.debug({ attempt, pauseMs: Math.round(pause) }, 'StartSaga was shed; trying again');
        await sleep(pause, options.signal);
      }
    }
  }

  /** The full record of a saga (every step with every attempt). NOT_FOUND if unknown. */
  async get(sagaId: string, options?: CallOptions): Promise<SagaRecord> {
    const response = await this.unary<GetSagaResponse>('GetSaga', options, (md, opts, cb) => this.client.getSaga({ sagaId }, md, opts, cb));
    if (response.saga === undefined) throw new SagaClientError('GetSaga', status.INTERNAL, 'the response has no saga');
    return fromProtoSaga(response.saga);
  }

  /** One page of sagas, newest first. */
  async list(filter: ListSagasFilter = {}, options?: CallOptions): Promise<SagaPage> {
    const request = toListSagasRequest(filter);
    const response = await this.unary<ListSagasResponse>('ListSagas', options, (md, opts, cb) => this.client.listSagas(request, md, opts, cb));
    return { sagas: response.sagas.map(fromProtoSagaSummary), nextPageToken: response.nextPageToken };
  }

  /**
   * The saga's record now and after every durable change, until it is
   * COMPLETED, COMPENSATED, MANUAL or RESOLVED (then the iteration ends).
   * The stream opens on the first `next()`; breaking out of the loop cancels it.
   */
  watch(sagaId: string, options: WatchOptions = {}): AsyncIterable<SagaRecord> {
    return { [Symbol.asyncIterator]: () => this.watchStream(sagaId, options) };
  }

  /**
   * Waits until the saga is COMPLETED, COMPENSATED, MANUAL or RESOLVED, or
   * the timeout passes (then the outcome is STILL_RUNNING, never a false
   * failure). Re-opens the watch while the coordinator is UNAVAILABLE.
   */
  async waitForOutcome(sagaId: string, options: WaitForOutcomeOptions): Promise<SagaOutcomeResult> {
    checkInteger('SagaClient.waitForOutcome', 'timeoutMs', options.timeoutMs, 0);
    const deadline = Date.now() + options.timeoutMs;
    let last: SagaRecord | undefined;
    let backoffMs = REWATCH_MIN_MS;
    for (;;) {
      const remaining = deadline - Date.now();
      if (remaining <= 0) return { sagaId, outcome: 'STILL_RUNNING', saga: last };
      try {
        for await (const saga of this.watch(sagaId, { signal: options.signal, deadlineMs: remaining })) {
          last = saga;
          backoffMs = REWATCH_MIN_MS;
          if (SETTLED_SAGA_STATES.has(saga.state)) {
            return { sagaId, outcome: saga.state as SagaOutcomeResult['outcome'], saga };
          }
        }
        // The stream ended before the saga settled (e.g. the coordinator is draining): watch again.
      } catch (err) {
        if (!(err instanceof SagaClientError)) throw err;
        if (err.codeName === 'DEADLINE_EXCEEDED') return { sagaId, outcome: 'STILL_RUNNING', saga: last };
        if (err.codeName !== 'UNAVAILABLE' || this.closed) throw err;
        this.logger.debug({ sagaId, err }, 'watch interrupted; watching again');
      }
      await sleep(Math.min(backoffMs, Math.max(deadline - Date.now(), 0)), options.signal);
      backoffMs = Math.min(backoffMs * 2, REWATCH_MAX_MS);
    }
  }

  /** Requests compensation of a RUNNING saga; resolves to its new state. */
  async abort(sagaId: string, reason: string, options?: CallOptions): Promise<SagaState> {
    const response = await this.unary<AbortSagaResponse>('AbortSaga', options, (md, opts, cb) =>
      this.client.abortSaga({ sagaId, reason }, md, opts, cb),
    );
    return sagaStateCodec.fromProto(response.state);
  }

  /** Re-drives the compensation of a MANUAL saga; resolves to its new state. */
  async retry(sagaId: string, options?: CallOptions): Promise<SagaState> {
    const response = await this.unary<RetrySagaResponse>('RetrySaga', options, (md, opts, cb) => this.client.retrySaga({ sagaId }, md, opts, cb));
    return sagaStateCodec.fromProto(response.state);
  }

  /** Marks a MANUAL saga as handled by an operator; `note` says what was done. */
  async resolve(sagaId: string, note: string, options?: CallOptions): Promise<SagaState> {
    const response = await this.unary<ResolveSagaResponse>('ResolveSaga', options, (md, opts, cb) =>
      this.client.resolveSaga({ sagaId, note }, md, opts, cb),
    );
    return sagaStateCodec.fromProto(response.state);
  }

  /** Cancels open watch streams and closes the channel. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const stream of this.streams) stream.cancel();
    this.streams.clear();
    this.client.close();
  }

  private metadata(): Metadata {
    return callMetadata(this.callMetadata);
  }

  private unary<Res>(method: string, options: CallOptions | undefined, invoke: UnaryInvoke<Res>): Promise<Res> {
    if (this.closed) return Promise.reject(new Error('SagaClient is closed'));
    const deadlineMs = checkInteger('SagaClient', 'deadlineMs', options?.deadlineMs ?? this.defaultDeadlineMs, 1);
    return unaryCall(method, this.metadata(), deadlineMs, options?.signal, invoke);
  }


  private async *watchStream(sagaId: string, options: WatchOptions): AsyncGenerator<SagaRecord, void, undefined> {
    if (this.closed) throw new Error('SagaClient is closed');
    const { signal } = options;
    signal?.throwIfAborted();
    const deadlineMs = checkInteger('SagaClient.watch', 'deadlineMs', options.deadlineMs ?? this.defaultWatchDeadlineMs, 1);
    const stream = this.client.watchSaga({ sagaId }, this.metadata(), { deadline: new Date(Date.now() + deadlineMs) });
    this.streams.add(stream);
    const onAbort = (): void => stream.cancel();
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      for await (const message of stream as AsyncIterable<WatchSagaResponse>) {
        if (message.saga === undefined) continue;
        const saga = fromProtoSaga(message.saga);
        yield saga;
        if (SETTLED_SAGA_STATES.has(saga.state)) return;
      }
    } catch (err) {
      signal?.throwIfAborted();
      // close() cancelled the stream: end quietly.
      if (this.closed && (err as { code?: unknown }).code === status.CANCELLED) return;
      throw toSagaClientError('WatchSaga', err);
    } finally {
      signal?.removeEventListener('abort', onAbort);
      this.streams.delete(stream);
      stream.cancel();
    }
  }
}
