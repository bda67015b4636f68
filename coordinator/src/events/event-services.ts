// Everything that observes the engine and talks to the outside about it, with
// one lifecycle: metrics (registry + HTTP endpoint), alert rules, the outbox
// relay to NATS JetStream (with the connection and stream set-up) and the
// outbox pruner. Without NATS configured, events stay in the outbox (bounded)
// and are published once NATS is configured and the coordinator restarted.
//
// Lifecycle: construct → engine hooks → load(engine) before engine.start()
// → start() after recovery → close() before the store closes.

import type { Logger } from 'pino';
import { jetstreamManager } from '@nats-io/jetstream';
import { AlertMonitor } from '../alerts/alert-monitor.js';
import { CompensationWindow } from '../alerts/compensation-window.js';
import { ManualBacklog } from '../alerts/manual-backlog.js';
import type { CoordinatorConfig } from '../config/config.js';
import type { JournalEvent } from '../domain/journal-event.js';
import type { EngineHooks, SagaEngine } from '../engine/saga-engine.js';
import type { SagaRuntime } from '../engine/saga-runtime.js';
import { CoordinatorMetrics } from '../metrics/coordinator-metrics.js';
import { MetricsServer } from '../metrics/metrics-server.js';
import { SagaMetricsObserver } from '../metrics/saga-metrics-observer.js';
import type { Store } from '../store/store.js';
import { NatsLink } from './nats-link.js';
import { OutboxPruner } from './outbox-pruner.js';
import { OutboxRelay } from './outbox-relay.js';
import { DeadLetters } from './dead-letters.js';
import { stepEventFactory } from './step-events.js';
import { ensureStream, streamSubjects } from './stream-setup.js';

export interface EventServicesOptions {
  readonly config: CoordinatorConfig;
  readonly store: Store;
  readonly logger: Logger;
  /** Test crash hook ('after-outbox-publish'). */
  readonly crashPoint?: EngineHooks['crashPoint'];
}

export class EventServices {
  readonly metrics: CoordinatorMetrics;
  private readonly observer: SagaMetricsObserver;
  private readonly manual = new ManualBacklog();
  private readonly alerts: AlertMonitor;
  private readonly pruner: OutboxPruner;
  private readonly link: NatsLink | undefined;
  private readonly relay: OutboxRelay | undefined;
  private readonly metricsServer: MetricsServer | undefined;
  /** Operator actions on the outbox's dead letters. */
  readonly deadLetters: DeadLetters;
  private engine: SagaEngine | undefined;
  private boundMetricsAddress: string | undefined;

  constructor(private readonly options: EventServicesOptions) {
    const { config, store, logger } = options;
    const prefix = config.events.subjectPrefix;
    this.metrics = new CoordinatorMetrics({ processMetrics: config.metrics.processMetrics });
    this.observer = new SagaMetricsObserver({
      metrics: this.metrics,
      compensationStartedAt: (id) => this.engine?.compensationStartedAt(id),
      maxLabelValues: config.metrics.maxLabelValues,
    });
    const window = new CompensationWindow(config.alerts.compensationSuccessRate.windowMs);
    this.alerts = new AlertMonitor({
      store,
      metrics: this.metrics,
      logger: logger.child({ component: 'alerts' }),
      rules: config.alerts,
      subjectPrefix: prefix,
      manual: this.manual,
      window,
      compensating: () => this.engine?.compensatingSince() ?? [],
      onEvent: () => this.relay?.wake(),
    });
    const nats = config.nats;
    if (nats.servers.length > 0) {
      const streamLog = logger.child({ component: 'nats' });
      const subjects = streamSubjects(prefix, nats.stream.subjects);
      this.link = new NatsLink({
        servers: nats.servers,
        clientName: nats.clientName,
        connectTimeoutMs: nats.connectTimeoutMs,
        requestTimeoutMs: nats.requestTimeoutMs,
        reconnectWaitMs: nats.reconnectWaitMs,
        initialBackoffMs: nats.relay.initialBackoffMs,
        maxBackoffMs: nats.relay.maxBackoffMs,
        prepare: async (nc) => {
          const jsm = await jetstreamManager(nc, { timeout: nats.requestTimeoutMs }).catch((err: unknown) => {
            // The class is not exported; its name is its type. No JetStream = no $JS.API responders.
            if (err instanceof Error && err.name === 'JetStreamNotEnabled') {
              throw new Error(
                `the NATS server (${nats.servers.join(', ')}) runs without JetStream: start nats-server with -js (JetStream enabled; nats-server 2.9 or later)`,
                { cause: err },
              );
            }
            throw err;
          });
          await ensureStream(jsm, { ...nats.stream, subjects }, streamLog);
        },
        onState: (state) => this.metrics.setNatsState(state),
        logger: streamLog,
      });
      this.relay = new OutboxRelay({
        store,
        nats: this.link,
        metrics: this.metrics,
        logger: logger.child({ component: 'outbox-relay' }),
        batchSize: nats.relay.batchSize,
        maxInFlight: nats.relay.maxInFlight,
        publishTimeoutMs: nats.requestTimeoutMs,
        pollIntervalMs: nats.relay.pollIntervalMs,
        initialBackoffMs: nats.relay.initialBackoffMs,
        maxBackoffMs: nats.relay.maxBackoffMs,
        deadLetterAfter: config.events.outbox.deadLetterAfter,
        subjectPrefix: prefix,
        crashPoint: options.crashPoint,
      });
    }
    const outbox = config.events.outbox;
    this.pruner = new OutboxPruner({
      store,
      metrics: this.metrics,
      logger: logger.child({ component: 'outbox' }),
      keepSentMs: outbox.keepSentMs,
      intervalMs: outbox.pruneIntervalMs,
      batch: outbox.pruneBatch,
      bound:
        this.relay === undefined
          ? { maxUnsent: outbox.maxUnsent, subjectPrefixes: [`${prefix}.events.`, `${prefix}.steps.`, `${prefix}.alerts.`] }
          : undefined,
    });
    this.deadLetters = new DeadLetters({ store, logger: logger.child({ component: 'outbox' }), rewind: () => this.relay?.rewind() });
    if (config.metrics.listen !== '') {
      this.metricsServer = new MetricsServer({ listen: config.metrics.listen, metrics: this.metrics, logger: logger.child({ component: 'metrics' }) });
    }
  }

  /** The engine hooks this module provides (merge with the others). */
  engineHooks(): Pick<EngineHooks, 'stepEvents' | 'onCommitted'> {
    const stepEvents = this.options.config.events.stepEvents
      ? stepEventFactory(this.options.config.events.subjectPrefix, () => this.maxEventBytes())
      : undefined;
    return {
      stepEvents,
      onCommitted: (saga, events) => this.onCommitted(saga, events, stepEvents !== undefined),
    };
  }

  /** Before engine.start(): binds the engine and reads the starting counts. */
  async load(engine: SagaEngine): Promise<void> {
    this.engine = engine;
    await this.manual.load(this.options.store);
    this.metrics.bindSources({
      activeSagas: () => engine.activeCount(),
      parkedSagas: () => engine.parkedCount(),
      manualSagas: () => this.manual.current(),
      outboxBacklog: () => this.options.store.outboxBacklog(),
      deadLetters: () => this.options.store.countDeadLetters(),
      compensationSuccessRatio: () => this.alerts.successRatio(),
      now: () => Date.now(),
    });
  }

  /** After recovery: the metrics endpoint (fails start if it cannot listen), NATS and the relay, pruning, alerts. */
  async start(): Promise<void> {
    if (this.metricsServer !== undefined) this.boundMetricsAddress = await this.metricsServer.start();
    if (this.link !== undefined && this.relay !== undefined) {
      this.link.start();
      this.relay.start();
    } else {
      const backlog = await this.options.store.outboxBacklog();
      this.options.logger.info(
        { backlog: backlog.unsent, maxUnsent: this.options.config.events.outbox.maxUnsent },
        'NATS not configured: events are kept in the outbox until it is',
      );
    }
    this.pruner.start();
    this.alerts.start();
  }

  /** host:port of the metrics endpoint once started, if enabled. */
  get metricsAddress(): string | undefined {
    return this.boundMetricsAddress;
  }

  /**
   * The largest event NATS can carry now, payload and headers together: the
   * connected server's max_payload (the last one seen while reconnecting), else
   * events.outbox.maxPayloadBytes.
   */
  maxEventBytes(): number {
    return this.link?.maxPayload() ?? this.options.config.events.outbox.maxPayloadBytes;
  }

  /** Rows were committed to the outbox outside the engine (e.g. transactional messages): publish them now. */
  wakeRelay(): void {
    this.relay?.wake();
  }

  async close(): Promise<void> {
    await this.alerts.close();
    await this.pruner.close();
    await this.relay?.close();
    await this.link?.close(this.options.config.nats.requestTimeoutMs);
    await this.metricsServer?.close();
  }

  private onCommitted(saga: SagaRuntime, events: readonly JournalEvent[], stepEvents: boolean): void {
    this.observer.observe(saga, events);
    this.manual.observe(events);
    this.alerts.observe(events);
    if (this.relay !== undefined && (stepEvents || events.some((e) => e.t === 'finish' || e.t === 'resolve'))) this.relay.wake();
  }
}
