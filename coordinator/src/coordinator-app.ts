// Composes the coordinator from its parts (store, registry, invoker, engine,
// gRPC server, retention, events/metrics/alerts) and gives it one start/close lifecycle.

import { ServerCredentials } from '@grpc/grpc-js';
import type { Tracer } from '@opentelemetry/api';
import { readFileSync } from 'node:fs';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import { effectiveAuthSettings } from './auth/auth-settings.js';
import { Authenticator } from './auth/authenticator.js';
import { exposureWarning } from './auth/exposure-warning.js';
import type { CoordinatorConfig } from './config/config.js';
import { consoleAuthenticator } from './console/console-auth.js';
import { ConsoleServer } from './console/console-server.js';
import { SagaChangeFeed } from './console/saga-change-feed.js';
import { OrphanClaimer } from './cluster/orphan-claimer.js';
import { AdmissionControl } from './engine/admission-control.js';
import { SagaEngine, type EngineHooks } from './engine/saga-engine.js';
import { EventServices } from './events/event-services.js';
import { checkOutcomeEventFits, outcomeEventFactory } from './events/outcome-events.js';
import { grpcDeadLetterHandlers } from './events/grpc-dead-letter-handlers.js';
import { createCoordinatorService } from './grpc/coordinator-service.js';
import { GrpcParticipantInvoker } from './grpc/grpc-participant-invoker.js';
import { startGrpcServer, type RunningServer } from './grpc/grpc-server.js';
import type { MessageCrashPoint } from './messages/message-service.js';
import { startMessageModule, type MessageModule } from './messages/message-module.js';
import { ParticipantRegistry } from './registry/participant-registry.js';
import { RetentionSweeper } from './store/retention-sweeper.js';
import { PostgresStore } from './store/postgres/postgres-store.js';
import { SqliteStore } from './store/sqlite/sqlite-store.js';
import { SagaTracing } from './tracing/saga-tracing.js';
import { TracingParticipantInvoker } from './tracing/tracing-participant-invoker.js';
import type { Store } from './store/store.js';

export interface CoordinatorAppOptions {
  readonly config: CoordinatorConfig;
  readonly logger: Logger;
  /** Test hooks (crash points). */
  readonly crashPoint?: EngineHooks['crashPoint'];
  /** Test hooks for transactional messages; default: from SAGA_TEST_CRASH_AT. */
  readonly messageCrashPoint?: (point: MessageCrashPoint, messageId: string) => void;
  /** OpenTelemetry tracer (tracing/tracing-setup.ts); unset = no spans. */
  readonly tracer?: Tracer;
}

export class CoordinatorApp {
  private constructor(
    readonly address: string,
    private readonly server: RunningServer,
    readonly engine: SagaEngine,
    private readonly store: Store,
    private readonly invoker: GrpcParticipantInvoker,
    private readonly sweeper: RetentionSweeper,
    private readonly logger: Logger,
    private readonly drainTimeoutMs: number,
    /** Metrics, alerts, and the outbox relay to NATS. */
    readonly events: EventServices,
    /** Transactional messages. */
    readonly messages: MessageModule,
    /** The web console, when console.listen is set. */
    readonly console: ConsoleServer | undefined,
    private readonly tracing: SagaTracing | undefined,
    /** On a shared store: claims the sagas of expired instances. */
    private readonly claimer: OrphanClaimer | undefined,
  ) {}

  static async start(options: CoordinatorAppOptions): Promise<CoordinatorApp> {
    const { config, logger } = options;
    const onSqlite = config.database.url === '';
    if (onSqlite && config.database.path !== ':memory:') mkdirSync(dirname(config.database.path), { recursive: true });
    // Load shedding: the store reports each batch's queueing delay to admission
    // control, which reads the store's oldest waiting write when no batch
    // commits. Its callbacks (store, metrics) run only from check() and stats(),
    // i.e. once StartSaga is served or metrics scraped, after all below exist.
    // The engine is built after admission control (which the engine takes); its counts are read later.
    const built: { engine?: SagaEngine } = {};
    const admission = new AdmissionControl({
      enabled: config.admission.enabled,
      targetDelayMs: config.admission.targetDelayMs,
      intervalMs: config.admission.intervalMs,
      oldestWaitingMs: () => store.oldestPendingCommitMs(),
      onShed: () => events.metrics.sagasShed.inc(),
      targetSagaLatencyMs: config.admission.targetSagaLatencyMs,
      minInMotion: config.admission.minInMotion,
      warmupMs: config.admission.warmupMs,
      loopUtilization: loopUtilizationSampler(),
      inMotion: () => built.engine?.inMotionCount() ?? 0,
      settled: () => built.engine?.settledCount() ?? 0,
    });
    const onCommitBatch = (oldestWaitMs: number, units: number, leftBehind: number, writeMs: number): void => {
      admission.observeCommitDelay(oldestWaitMs, leftBehind);
      events.metrics.commitBatchUnits.observe(units);
      events.metrics.commitWrite.observe(writeMs / 1000);
    };
    const onCommitWait = (waitMs: number): void => events.metrics.commitWait.observe(waitMs / 1000);
    const onFailed = (err: Error): void => logger.fatal({ err }, 'writing the durable log failed; stopping so that recovery restarts from the log');
    const store: Store = onSqlite
      ? new SqliteStore({
          path: config.database.path,
          synchronous: config.database.synchronous,
          writerThread: config.database.writerThread,
          commitDelayMs: config.database.commitDelayMs,
          onCommitBatch,
          onCommitWait,
          onFailed,
        })
      : new PostgresStore({
          url: config.database.url,
          settings: config.database.postgres,
          commitDelayMs: config.database.commitDelayMs,
          onCommitBatch,
          onCommitWait,
          onFailed,
          onPoolError: (err) => logger.warn({ err }, 'an idle PostgreSQL connection failed'),
          onLeaseRenewError: (err) => logger.warn({ err }, 'renewing this instance lease failed'),
        });
    await store.open();
    const registry = new ParticipantRegistry(config.participants, config.rawAddressAllowlist);
    const events = new EventServices({ config, store, logger, crashPoint: options.crashPoint });
    const invoker = new GrpcParticipantInvoker({
      registry,
      maxOutputBytes: config.limits.maxPayloadBytes,
      transport: config.participantTransport,
      onCallTime: (operation, ms) => events.metrics.participantCall.observe({ operation }, ms / 1000),
    });
    logger.info(
      { implementation: config.participantTransport.implementation, thread: invoker.channelsOnOwnThread() ? 'worker' : 'main', setting: config.participantTransport.thread },
      'participant transport',
    );
    events.metrics.bindAdmission(() => admission.stats().shedding);
    const tracing = options.tracer === undefined ? undefined : new SagaTracing(options.tracer);
    const eventHooks = events.engineHooks();
    const consoleFeed = new SagaChangeFeed();
    const engine = new SagaEngine({
      store,
      invoker: options.tracer === undefined ? invoker : new TracingParticipantInvoker(invoker, options.tracer),
      logger: logger.child({ component: 'engine' }),
      maxActiveSagas: config.maxActiveSagas,
      evictParkedAfterMs: config.evictParkedAfterMs,
      admission,
      drainTimeoutMs: config.drainTimeoutMs,
      hooks: {
        outcomeEvents: outcomeEventFactory(config.events.subjectPrefix, () => events.maxEventBytes()),
        crashPoint: options.crashPoint,
        ...eventHooks,
        onCommitted: consoleFeed.observing(
          tracing === undefined
            ? eventHooks.onCommitted
            : (saga, committed) => {
                eventHooks.onCommitted?.(saga, committed);
                tracing.observe(saga, committed);
              },
        ),
      },
    });
    built.engine = engine;
    await events.load(engine);
    const started = Date.now();
    const { recovered, inDoubt } = await engine.start();
    logger.info({ recovered, inDoubt, ms: Date.now() - started, instance: store.ownership?.instanceId() }, 'recovery done');
    await events.start();
    const messages = await startMessageModule({
      config,
      store,
      registry,
      logger,
      onOutboxWritten: () => events.wakeRelay(),
      maxEventBytes: () => events.maxEventBytes(),
      crashPoint: options.messageCrashPoint,
    });
    const claimer =
      store.ownership === undefined
        ? undefined
        : new OrphanClaimer({
            ownership: store.ownership,
            adopt: (claimed) => engine.adopt(claimed),
            dropAll: (reason) => engine.dropAll(reason),
            adoptMessage: (id, wakeAt) => messages.service.adopt(id, wakeAt),
            dropMessages: () => messages.service.dropAll(),
            outboxClaimed: () => events.wakeRelay(),
            intervalMs: config.database.postgres.claimIntervalMs,
            batch: config.database.postgres.claimBatch,
            logger: logger.child({ component: 'cluster' }),
          });
    claimer?.start();
    const authenticator = new Authenticator(effectiveAuthSettings(config.auth, config.operatorToken));
    const exposed = exposureWarning(config.listen, config.tls !== undefined, authenticator.open());
    if (exposed !== undefined) logger.warn(exposed);
    const service = createCoordinatorService({
      engine,
      registry,
      limits: config.limits,
      retryDefaults: config.retry,
      logger: logger.child({ component: 'grpc' }),
      authenticator,
      messages: messages.handlers,
      deadLetters: grpcDeadLetterHandlers(events.deadLetters),
      tracing,
      checkEventsFit: (sagaId, definition) => checkOutcomeEventFits(sagaId, definition, events.maxEventBytes()),
    });
    const server = await startGrpcServer({
      listen: config.listen,
      service,
      maxReceiveMessageBytes: config.limits.maxTotalPayloadBytes + 1024 * 1024,
      credentials: serverCredentials(config),
    });
    server.health.setStatus('', 'SERVING');
    server.health.setStatus('saga.v1.Coordinator', 'SERVING');
    const sweeper = new RetentionSweeper({
      store,
      logger: logger.child({ component: 'retention' }),
      retentionMs: config.retention.finishedSagaMs,
      intervalMs: config.retention.sweepIntervalMs,
      batch: config.retention.batch,
    });
    sweeper.start();
    const consoleServer =
      config.console.listen === ''
        ? undefined
        : await ConsoleServer.start({
            settings: config.console,
            engine,
            countByState: () => store.countByState(),
            messages: store,
            deadLetters: events.deadLetters,
            countDeadLetters: () => store.countDeadLetters(),
            registry: events.metrics.registry,
            alerts: config.alerts,
            feed: consoleFeed,
            auth: consoleAuthenticator(authenticator),
            logger: logger.child({ component: 'console' }),
          });
    return new CoordinatorApp(
      server.address,
      server,
      engine,
      store,
      invoker,
      sweeper,
      logger,
      config.drainTimeoutMs,
      events,
      messages,
      consoleServer,
      tracing,
      claimer,
    );
  }

  /**
   * Calls `listener` once when the durable log failed (a write of the store, or
   * of the engine): the process should exit 1.
   */
  onFatal(listener: (err: Error) => void): void {
    let told = false;
    const once = (err: Error): void => {
      if (told) return;
      told = true;
      listener(err);
    };
    this.engine.onFatal(once);
    this.store.onFailed(once);
  }

  /** Stops taking calls and answers those in hand, within `graceMs` (for a fail-stop exit). */
  stopServing(graceMs: number): Promise<void> {
    return this.server.shutdown(graceMs);
  }

  /**
   * Graceful, in this order: health NOT_SERVING first (load balancers stop
   * sending); the engine decides no new dispatch and gives calls in flight up
   * to drainTimeoutMs, abandoning the rest unrecorded; the gRPC server stops;
   * then the invoker, messages and events; the store closes last, after the
   * last write.
   */
  async close(): Promise<void> {
    this.logger.info('shutting down');
    this.server.health.setStatus('', 'NOT_SERVING');
    this.server.health.setStatus('saga.v1.Coordinator', 'NOT_SERVING');
    await this.console?.close();
    await this.sweeper.close();
    await this.claimer?.close();
    await this.engine.close();
    this.tracing?.close();
    await this.server.shutdown(Math.min(this.drainTimeoutMs, 5000));
    await this.invoker.close();
    await this.messages.close();
    await this.events.close();
    await this.store.close();
    this.logger.info('stopped');
  }
}

function serverCredentials(config: CoordinatorConfig): ServerCredentials {
  if (config.tls === undefined) return ServerCredentials.createInsecure();
  const ca = config.tls.clientCaFile === undefined ? null : readFileSync(config.tls.clientCaFile);
  return ServerCredentials.createSsl(
    ca,
    [{ cert_chain: readFileSync(config.tls.certFile), private_key: readFileSync(config.tls.keyFile) }],
    ca !== null,
  );
}

/** Event-loop utilisation (0–1) since the previous call. */
function loopUtilizationSampler(): () => number {
  let last = performance.eventLoopUtilization();
  return () => {
    const now = performance.eventLoopUtilization();
    const delta = performance.eventLoopUtilization(now, last);
    last = now;
    return delta.utilization;
  };
}
