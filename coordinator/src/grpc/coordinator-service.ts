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
import { DomainError, invalidArgument } from '../domain/errors.js';
import { OUTCOME_STATES } from '../domain/saga-types.js';
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
import { isUnexpected, toServiceError } from './status-map.js';
import type { MessageHandlers } from './message-handlers.js';
import type { DeadLetterHandlers } from './dead-letter-handlers.js';

export interface CoordinatorServiceOptions {
  readonly engine: SagaEngine;
  readonly registry: ParticipantRegistry;
  readonly limits: ValidationLimits;
  readonly retryDefaults: RetryDefaults;
  readonly logger: Logger;
  /** When set, AbortSaga/RetrySaga/ResolveSaga require "authorization: Bearer <token>". */
  readonly operatorToken?: string;
  readonly messages: MessageHandlers;
  /** Operator calls on the outbox's dead letters (operator token as for AbortSaga). */
  readonly deadLetters: DeadLetterHandlers;
}

type UnaryFn<Req, Res> = (req: Req, signal: AbortSignal, metadata: Metadata) => Promise<Res>;

export function createCoordinatorService(options: CoordinatorServiceOptions): CoordinatorServer {
  const { engine, registry, limits, retryDefaults, logger } = options;
  const unary = <Req, Res>(method: string, fn: UnaryFn<Req, Res>): handleUnaryCall<Req, Res> => {
    return (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>) => {
      const abort = new AbortController();
      // grpc-js emits 'cancelled' when any call's stream closes, answered or
      // not: stop listening once answered (an abort per call is not free).
      const onCancelled = (): void => abort.abort();
      call.once('cancelled', onCancelled);
      fn(call.request, abort.signal, call.metadata).then(
        (res) => {
          call.removeListener('cancelled', onCancelled);
          callback(null, res);
        },
        (err: unknown) => {
          call.removeListener('cancelled', onCancelled);
          if (isUnexpected(err)) logger.error({ err, method }, 'request failed unexpectedly');
          callback(toServiceError(err));
        },
      );
    };
  };
  const requireOperator = (metadata: Metadata): void => {
    if (options.operatorToken === undefined) return;
    const header = metadata.get('authorization')[0];
    if (header !== `Bearer ${options.operatorToken}`) {
      throw new DomainError('UNAUTHENTICATED', 'operator calls need the metadata "authorization: Bearer <operator token>"');
    }
  };
  const requireId = (id: string): void => {
    if (id === '') throw invalidArgument('saga_id', 'is required');
  };

  return {
    startSaga: unary<StartSagaRequest, StartSagaResponse>('StartSaga', async (req) => {
      const validated = validateStartSaga(startSagaFromPb(req), limits, retryDefaults, (name) => registry.check(name));
      return startSagaResultToPb(await engine.startSaga(validated));
    }),
    getSaga: unary<GetSagaRequest, GetSagaResponse>('GetSaga', async (req) => {
      requireId(req.sagaId);
      return { saga: sagaViewToPb(await engine.getSaga(req.sagaId)) };
    }),
    listSagas: unary<ListSagasRequest, ListSagasResponse>('ListSagas', async (req) => {
      const page = await engine.listSagas(listFilterFromPb(req, 1000));
      return { sagas: page.sagas.map(summaryToPb), nextPageToken: page.nextPageToken };
    }),
    abortSaga: unary<AbortSagaRequest, AbortSagaResponse>('AbortSaga', async (req, _signal, md) => {
      requireOperator(md);
      requireId(req.sagaId);
      return { state: sagaStateToPb(await engine.abort(req.sagaId, req.reason)) };
    }),
    retrySaga: unary<RetrySagaRequest, RetrySagaResponse>('RetrySaga', async (req, _signal, md) => {
      requireOperator(md);
      requireId(req.sagaId);
      return { state: sagaStateToPb(await engine.retry(req.sagaId)) };
    }),
    resolveSaga: unary<ResolveSagaRequest, ResolveSagaResponse>('ResolveSaga', async (req, _signal, md) => {
      requireOperator(md);
      requireId(req.sagaId);
      return { state: sagaStateToPb(await engine.resolve(req.sagaId, req.note)) };
    }),
    watchSaga: watch(engine, logger),
    prepareMessage: unary('PrepareMessage', (req, signal) => options.messages.prepare(req, signal)),
    commitMessage: unary('CommitMessage', (req, signal) => options.messages.commit(req, signal)),
    rollbackMessage: unary('RollbackMessage', (req, signal) => options.messages.rollback(req, signal)),
    getMessage: unary('GetMessage', (req, signal) => options.messages.get(req, signal)),
    listDeadLetters: unary('ListDeadLetters', (req, _signal, md) => {
      requireOperator(md);
      return options.deadLetters.list(req);
    }),
    replayDeadLetter: unary('ReplayDeadLetter', (req, _signal, md) => {
      requireOperator(md);
      return options.deadLetters.replay(req);
    }),
    dropDeadLetter: unary('DropDeadLetter', (req, _signal, md) => {
      requireOperator(md);
      return options.deadLetters.drop(req);
    }),
  };
}

/** Streams the saga's record now and after every durable change, until an outcome. */
function watch(engine: SagaEngine, logger: Logger): handleServerStreamingCall<WatchSagaRequest, WatchSagaResponse> {
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
    if (id === '') {
      finish(invalidArgument('saga_id', 'is required'));
      return;
    }
    unsubscribe = engine.subscribe(id, push);
    push();
  };
}
