// The Coordinator gRPC service: decodes requests into domain calls, maps
// results and errors back. Every handler gets an AbortSignal tied to the call.

import {
  Metadata,
  type handleServerStreamingCall,
  type handleUnaryCall,
  type sendUnaryData,
  type ServerUnaryCall,
  type ServerWritableStream,
} from '@grpc/grpc-js';
import type {
  AbortSagaRequest,
  AbortSagaResponse,
  CoordinatorServer,
  GetSagaRequest,
  GetSagaResponse,
  ListSagasRequest,
  ListSagasResponse,
  ResolveSagaRequest,
  ResolveSagaResponse,
  RetrySagaRequest,
  RetrySagaResponse,
  StartSagaRequest,
  StartSagaResponse,
  WatchSagaRequest,
  WatchSagaResponse,
} from '@saga/proto';
import type { Logger } from 'pino';
import type { Authenticator } from '../auth/authenticator.js';
import type { Principal } from '../auth/principal.js';
import { authorize, producerBound, type Rpc } from '../auth/rpc-roles.js';
import { checkLookupId, checkMaxLength, FIELD_LIMITS } from '../domain/field-limits.js';
import { OUTCOME_STATES, type SagaDefinition } from '../domain/saga-types.js';
import { validateStartSaga, type RetryDefaults, type ValidationLimits } from '../domain/validate-start-saga.js';
import type { SagaEngine } from '../engine/saga-engine.js';
import type { ParticipantRegistry } from '../registry/participant-registry.js';
import {
  listFilterFromPb,
  sagaStateToPb,
  sagaViewToPb,
  startSagaFromPb,
  startSagaResultToPb,
  summaryToPb,
} from './convert.js';
import { CallCancellation } from './call-cancellation.js';
import type { MessageHandlers } from './message-handlers.js';
import type { DeadLetterHandlers } from './dead-letter-handlers.js';
import { decodePageToken, encodePageToken } from './page-token.js';
import { peerIdentities } from './peer-identities.js';
import { isUnexpected, toServiceError } from './status-map.js';
import { assertTimestampsValid } from './timestamp-range.js';
import type { SagaTracing } from '../tracing/saga-tracing.js';

export interface CoordinatorServiceOptions {
  readonly engine: SagaEngine;
  readonly registry: ParticipantRegistry;
  readonly limits: ValidationLimits;
  readonly retryDefaults: RetryDefaults;
  readonly logger: Logger;
  /** Who may call what (see auth/rpc-roles.ts); with nothing configured every role is open. */
  readonly authenticator: Authenticator;
  readonly messages: MessageHandlers;
  /** Operator calls on the outbox's dead letters (the operator role, as AbortSaga). */
  readonly deadLetters: DeadLetterHandlers;
  /** Saga spans (tracing on): a StartSaga's `traceparent` header becomes the parent of its saga's span. */
  readonly tracing?: SagaTracing;
  /** StartSaga: throws INVALID_ARGUMENT when the saga's own events could not fit what NATS carries. */
  readonly checkEventsFit?: (sagaId: string, definition: SagaDefinition) => void;
}

interface CallContext {
  readonly signal: AbortSignal;
  readonly principal: Principal;
  readonly metadata: Metadata;
}

type UnaryFn<Req, Res> = (req: Req, ctx: CallContext) => Promise<Res>;

/** A handler's context; its signal is made only when read (call-cancellation.ts). A class: one shape for every call. */
class HandlerContext implements CallContext {
  constructor(
    private readonly cancellation: CallCancellation,
    readonly principal: Principal,
    readonly metadata: Metadata,
  ) {}

  get signal(): AbortSignal {
    return this.cancellation.signal;
  }
}

interface AuthenticatedCall {
  readonly metadata: Metadata;
  getAuthContext(): Parameters<typeof peerIdentities>[0];
}

export function createCoordinatorService(options: CoordinatorServiceOptions): CoordinatorServer {
  const { engine, registry, limits, retryDefaults, logger, authenticator } = options;
  const principalOf = (call: AuthenticatedCall): Principal => {
    const header = call.metadata.get('authorization')[0];
    const result = authenticator.authenticate(typeof header === 'string' ? header : undefined, peerIdentities(call.getAuthContext()));
    if (!result.ok) throw result.error;
    return result.principal;
  };
  /**
   * `rpc` is authorized before `fn` runs, except for the message RPCs bound to
   * a producer, which `fn` authorizes once it knows the message's producer.
   */
  const unary = <Req, Res>(rpc: Rpc, fn: UnaryFn<Req, Res>): handleUnaryCall<Req, Res> => {
    return (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>) => {
      const cancellation = new CallCancellation();
      // grpc-js emits 'cancelled' when any call's stream closes, answered or
      // not: stop listening once answered (an abort per call is not free).
      const onCancelled = (): void => cancellation.cancel();
      call.once('cancelled', onCancelled);
      const run = async (): Promise<Res> => {
        const principal = principalOf(call);
        if (!producerBound(principal, rpc)) authorize(principal, rpc);
        return fn(call.request, new HandlerContext(cancellation, principal, call.metadata));
      };
      run().then(
        (res) => {
          call.removeListener('cancelled', onCancelled);
          callback(null, res);
        },
        (err: unknown) => {
          call.removeListener('cancelled', onCancelled);
          if (isUnexpected(err)) logger.error({ err, method: rpc }, 'request failed unexpectedly');
          callback(toServiceError(err));
        },
      );
    };
  };
  /** Commit, rollback and get of a message by a producer credential: only of its own messages. */
  const authorizeMessage = async (rpc: Rpc, principal: Principal, messageId: string, signal: AbortSignal): Promise<void> => {
    checkLookupId('message_id', messageId);
    if (!producerBound(principal, rpc)) return;
    authorize(principal, rpc, await options.messages.producerOf(messageId, signal));
  };

  return {
    startSaga: unary<StartSagaRequest, StartSagaResponse>('StartSaga', async (req, { metadata: md }) => {
      const validated = validateStartSaga(startSagaFromPb(req), limits, retryDefaults, (name) => registry.check(name));
      options.checkEventsFit?.(validated.sagaId, validated.definition);
      const tracing = options.tracing;
      if (tracing === undefined) return startSagaResultToPb(await engine.startSaga(validated));
      // The saga span's traceparent is stored with the definition (after its hash was taken).
      const caller = md.get('traceparent')[0];
      const traceParent = tracing.beginSaga(validated.definition.name, typeof caller === 'string' ? caller : undefined);
      let created = false;
      try {
        const result = await engine.startSaga({ ...validated, definition: { ...validated.definition, traceParent } });
        created = result.created;
        return startSagaResultToPb(result);
      } finally {
        if (!created) tracing.discard(traceParent);
      }
    }),
    getSaga: unary<GetSagaRequest, GetSagaResponse>('GetSaga', async (req) => {
      checkLookupId('saga_id', req.sagaId);
      return { saga: sagaViewToPb(await engine.getSaga(req.sagaId)) };
    }),
    listSagas: unary<ListSagasRequest, ListSagasResponse>('ListSagas', async (req) => {
      assertTimestampsValid(req);
      checkMaxLength('name', req.name, FIELD_LIMITS.name);
      const filter = listFilterFromPb({ ...req, pageToken: decodePageToken(req.pageToken) }, 1000);
      const page = await engine.listSagas(filter);
      return { sagas: page.sagas.map(summaryToPb), nextPageToken: encodePageToken(page.nextPageToken) };
    }),
    abortSaga: unary<AbortSagaRequest, AbortSagaResponse>('AbortSaga', async (req) => {
      checkLookupId('saga_id', req.sagaId);
      checkMaxLength('reason', req.reason, FIELD_LIMITS.reason);
      return { state: sagaStateToPb(await engine.abort(req.sagaId, req.reason)) };
    }),
    retrySaga: unary<RetrySagaRequest, RetrySagaResponse>('RetrySaga', async (req) => {
      checkLookupId('saga_id', req.sagaId);
      return { state: sagaStateToPb(await engine.retry(req.sagaId)) };
    }),
    resolveSaga: unary<ResolveSagaRequest, ResolveSagaResponse>('ResolveSaga', async (req) => {
      checkLookupId('saga_id', req.sagaId);
      checkMaxLength('note', req.note, FIELD_LIMITS.reason);
      return { state: sagaStateToPb(await engine.resolve(req.sagaId, req.note)) };
    }),
    watchSaga: watch(engine, logger, principalOf),
    prepareMessage: unary('PrepareMessage', async (req, { signal, principal }) => {
      assertTimestampsValid(req);
      if (producerBound(principal, 'PrepareMessage')) {
        checkMaxLength('producer', req.producer, FIELD_LIMITS.name);
        authorize(principal, 'PrepareMessage', req.producer);
      }
      return options.messages.prepare(req, signal);
    }),
    commitMessage: unary('CommitMessage', async (req, { signal, principal }) => {
      await authorizeMessage('CommitMessage', principal, req.messageId, signal);
      return options.messages.commit(req, signal);
    }),
    rollbackMessage: unary('RollbackMessage', async (req, { signal, principal }) => {
      checkMaxLength('reason', req.reason, FIELD_LIMITS.reason);
      await authorizeMessage('RollbackMessage', principal, req.messageId, signal);
      return options.messages.rollback(req, signal);
    }),
    getMessage: unary('GetMessage', async (req, { signal, principal }) => {
      await authorizeMessage('GetMessage', principal, req.messageId, signal);
      return options.messages.get(req, signal);
    }),
    listMessages: unary('ListMessages', async (req, { signal, principal }) => {
      assertTimestampsValid(req);
      checkMaxLength('producer', req.producer, FIELD_LIMITS.name);
      if (!producerBound(principal, 'ListMessages')) return options.messages.list(req, signal);
      // A producer credential lists its own producer's messages: by default, and only those.
      const producer = req.producer === '' ? (principal.producer ?? '') : req.producer;
      authorize(principal, 'ListMessages', producer);
      return options.messages.list({ ...req, producer }, signal);
    }),
    listDeadLetters: unary('ListDeadLetters', (req) => {
      checkMaxLength('page_token', req.pageToken, FIELD_LIMITS.pageToken);
      return options.deadLetters.list(req);
    }),
    replayDeadLetter: unary('ReplayDeadLetter', (req) => {
      checkMaxLength('event_id', req.eventId, FIELD_LIMITS.id);
      return options.deadLetters.replay(req);
    }),
    dropDeadLetter: unary('DropDeadLetter', (req) => {
      checkMaxLength('event_id', req.eventId, FIELD_LIMITS.id);
      return options.deadLetters.drop(req);
    }),
  };
}

/** Streams the saga's record now and after every durable change, until an outcome. */
function watch(
  engine: SagaEngine,
  logger: Logger,
  principalOf: (call: AuthenticatedCall) => Principal,
): handleServerStreamingCall<WatchSagaRequest, WatchSagaResponse> {
  return (call: ServerWritableStream<WatchSagaRequest, WatchSagaResponse>) => {
    const id = call.request.sagaId;
    let lastVersion = -1;
    let closed = false;
    let chain = Promise.resolve();
    let unsubscribe = (): void => undefined;
    const finish = (err?: unknown): void => {
      if (closed) return;
      closed = true;
      unsubscribe();
      if (err === undefined) call.end();
      else {
        if (isUnexpected(err)) logger.error({ err, method: 'WatchSaga' }, 'watch failed unexpectedly');
        call.emit('error', toServiceError(err));
      }
    };
    // Snapshots are read and written one at a time, in order.
    const push = (): void => {
      chain = chain.then(async () => {
        if (closed) return;
        try {
          const view = await engine.getSaga(id);
          if (closed || view.version <= lastVersion) return;
          lastVersion = view.version;
          call.write({ saga: sagaViewToPb(view) });
          if (OUTCOME_STATES.includes(view.state)) finish();
        } catch (err) {
          finish(err);
        }
      });
    };
    call.on('cancelled', () => finish());
    try {
      authorize(principalOf(call), 'WatchSaga');
      checkLookupId('saga_id', id);
    } catch (err) {
      finish(err);
      return;
    }
    unsubscribe = engine.watch(id, push);
    push();
  };
}
