// The coordinator's Prometheus metrics, in a registry of their own (no global
// default registry). Labels are bounded: saga name, step name, operation,
// outcome, alert kind — never a saga id or any other per-instance value.
// Gauges that describe stored state (MANUAL sagas, outbox backlog) are read
// from their source at scrape time.

import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { OutboxBacklog } from '../store/store.js';

/** Where scrape-time gauges read from; bound once the parts exist. */
export interface MetricSources {
  /** Sagas RUNNING or COMPENSATING in this process. */
  activeSagas(): number;
  /** Of those, the ones evicted from memory while they wait for a retry or deadline. */
  parkedSagas(): number;
  /** Sagas waiting in MANUAL. */
  manualSagas(): number;
  outboxBacklog(): Promise<OutboxBacklog>;
  /** Outbox events in the dead letters now. */
  deadLetters(): Promise<number>;
  /** Compensation success ratio over the alert window; undefined without data. */
  compensationSuccessRatio(): number | undefined;
  now(): number;
}

/** 0.1 ms to 10 s in 1-2-5 steps: the timings of one saga's parts are sub-millisecond when all is well. */
const FINE_SECONDS = [0.0001, 0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10];

export type NatsConnectionState = 'disabled' | 'connecting' | 'connected' | 'disconnected';
const NATS_STATES: readonly NatsConnectionState[] = ['disabled', 'connecting', 'connected', 'disconnected'];

export interface CoordinatorMetricsOptions {
  /** Also export the Node.js process metrics. */
  readonly processMetrics: boolean;
}

export class CoordinatorMetrics {
  readonly registry = new Registry();
  readonly sagasStarted: Counter<'saga'>;
  readonly sagasFinished: Counter<'saga' | 'outcome'>;
  readonly stepDuration: Histogram<'saga' | 'step' | 'operation' | 'outcome'>;
  readonly compensationDuration: Histogram<'saga' | 'outcome'>;
  readonly stepRetries: Counter<'saga' | 'step' | 'operation'>;
  readonly outboxPublished: Counter;
  readonly outboxPublishErrors: Counter;
  readonly outboxDropped: Counter;
  readonly outboxDeadLettered: Counter;
  readonly outboxPublishLag: Histogram;
  readonly alertTransitions: Counter<'kind' | 'state'>;
  /** StartSaga calls refused by admission control (overload); no labels. */
  readonly sagasShed: Counter;
  /** Per write of the durable log: commit() until released to the engine. */
  readonly commitWait: Histogram;
  /** Units per group-committed transaction. */
  readonly commitBatchUnits: Histogram;
  /** Per group-committed transaction: the write itself, without the queueing before it. */
  readonly commitWrite: Histogram;
  /** Start to outcome of each saga, as the coordinator sees it. */
  readonly sagaDuration: Histogram<'saga' | 'outcome'>;
  /** Per participant call, as this process sees it. */
  readonly participantCall: Histogram<'operation'>;
  private readonly natsState: Gauge<'state'>;
  private readonly alertActive: Gauge<'kind'>;
  private sources: MetricSources | undefined;
  private admissionShedding: (() => boolean) | undefined;
  /** The backlog read once per scrape, for both outbox gauges. */
  private backlogOfScrape: Promise<OutboxBacklog> | undefined;

  constructor(options: CoordinatorMetricsOptions) {
    const registers = [this.registry];
    // GC pauses are mostly sub-millisecond: prom-client's default buckets start at 1 ms.
    if (options.processMetrics) collectDefaultMetrics({ register: this.registry, gcDurationBuckets: FINE_SECONDS });
    this.sagasStarted = new Counter({ name: 'saga_sagas_started_total', help: 'Sagas started, by saga name (TCC transactions also kind="tcc").', labelNames: ['saga', 'kind'], registers });
    this.sagasFinished = new Counter({
      name: 'saga_sagas_finished_total',
      help: 'Sagas that reached an outcome (completed, compensated, manual, resolved), by saga name (TCC transactions also kind="tcc").',
      labelNames: ['saga', 'outcome', 'kind'],
      registers,
    });
    this.stepDuration = new Histogram({
      name: 'saga_step_duration_seconds',
      help: 'Duration of one Execute or Compensate attempt (TCC: Try, Confirm or Cancel, kind="tcc"), from dispatch to result.',
      labelNames: ['saga', 'step', 'operation', 'outcome', 'kind'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      registers,
    });
    this.compensationDuration = new Histogram({
      name: 'saga_compensation_duration_seconds',
      help: 'Duration of a whole compensation, from its start to COMPENSATED (outcome=compensated) or MANUAL (outcome=manual).',
      labelNames: ['saga', 'outcome', 'kind'],
      buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 120, 300, 600, 1800, 3600],
      registers,
    });
    this.stepRetries = new Counter({
      name: 'saga_step_retries_total',
      help: 'Attempts after the first (retries) of Execute and Compensate (TCC: Try, Confirm, Cancel, kind="tcc").',
      labelNames: ['saga', 'step', 'operation', 'kind'],
      registers,
    });
    this.outboxPublished = new Counter({ name: 'saga_outbox_published_total', help: 'Outbox events acknowledged by JetStream.', registers });
    this.outboxPublishErrors = new Counter({
      name: 'saga_outbox_publish_errors_total',
      help: 'Publication failures of the outbox relay (each time it backs off and retries from the first unsent event).',
      registers,
    });
    this.outboxDropped = new Counter({
      name: 'saga_outbox_dropped_total',
      help: 'Unsent coordinator events dropped to keep the outbox bounded while NATS is not configured.',
      registers,
    });
    this.outboxDeadLettered = new Counter({
      name: 'saga_outbox_dead_lettered_total',
      help: 'Outbox events moved to the dead letters after repeated non-transient publish failures (e.g. larger than max_payload).',
      registers,
    });
    this.outboxPublishLag = new Histogram({
      name: 'saga_outbox_publish_lag_seconds',
      help: 'From the commit of an event to its acknowledgement by JetStream.',
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 60, 300, 3600],
      registers,
    });
    this.natsState = new Gauge({
      name: 'saga_nats_connection_state',
      help: 'NATS connection state, one-hot: disabled (not configured), connecting, connected (stream ready), disconnected.',
      labelNames: ['state'],
      registers,
    });
    this.setNatsState('disabled');
    this.alertActive = new Gauge({ name: 'saga_alert_active', help: 'Alerts firing now (1) or not (0), by kind.', labelNames: ['kind'], registers });
    this.alertTransitions = new Counter({
      name: 'saga_alert_transitions_total',
      help: 'Alerts that started (state=firing) or cleared (state=cleared), by kind.',
      labelNames: ['kind', 'state'],
      registers,
    });
    this.sagasShed = new Counter({
      name: 'saga_sagas_shed_total',
      help: 'New sagas refused with RESOURCE_EXHAUSTED because the coordinator was overloaded (load shedding).',
      registers,
    });
    this.commitWait = new Histogram({
      name: 'saga_commit_wait_seconds',
      help: 'Per write of the durable log: from its commit until its batch was durable and it was handed back to the engine (queueing, the write itself, event-loop lag).',
      buckets: FINE_SECONDS,
      registers,
    });
    this.commitWrite = new Histogram({
      name: 'saga_commit_write_seconds',
      help: 'Per group-committed transaction of the durable log: the write itself, from the start of the transaction until it was durable (no queueing before it). Compare with saga_commit_wait_seconds: the difference is queueing and event-loop lag.',
      buckets: FINE_SECONDS,
      registers,
    });
    this.sagaDuration = new Histogram({
      name: 'saga_duration_seconds',
      help: 'From a saga\'s start (accepted) to its outcome (completed, compensated, manual), by saga name and outcome (TCC transactions also kind="tcc"); a resolved saga is not timed.',
      labelNames: ['saga', 'outcome', 'kind'],
      buckets: [0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 30, 60, 300, 3600],
      registers,
    });
    this.commitBatchUnits = new Histogram({
      name: 'saga_commit_batch_units',
      help: 'Writes per group-committed transaction of the durable log.',
      buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024],
      registers,
    });
    this.participantCall = new Histogram({
      name: 'saga_participant_call_seconds',
      help: 'One participant call (Execute, Compensate, Try, Confirm, Cancel) as the coordinator sees it: from handing the request to the transport until the answer is back on its event loop (network, the participant, and this process\'s own queueing).',
      labelNames: ['operation'],
      buckets: FINE_SECONDS,
      registers,
    });
    this.scrapeGauges();
  }

  /** Connects the scrape-time gauges to their sources. */
  bindSources(sources: MetricSources): void {
    this.sources = sources;
  }

  /** Connects saga_admission_shedding to admission control (read at scrape time, so it clears without traffic). */
  bindAdmission(shedding: () => boolean): void {
    this.admissionShedding = shedding;
  }

  setNatsState(state: NatsConnectionState): void {
    for (const s of NATS_STATES) this.natsState.set({ state: s }, s === state ? 1 : 0);
  }

  setAlertActive(kind: string, active: boolean): void {
    this.alertActive.set({ kind }, active ? 1 : 0);
  }

  /** Prometheus text exposition. */
  async exposition(): Promise<string> {
    this.backlogOfScrape = undefined;
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  private scrapeGauges(): void {
    this.scrapeGauge('saga_sagas_in_flight', 'Sagas RUNNING or COMPENSATING in this coordinator.', () => this.sources?.activeSagas());
    this.scrapeGauge(
      'saga_sagas_parked',
      'Of the sagas in flight, those held only in the log while they wait for a retry or their deadline.',
      () => this.sources?.parkedSagas(),
    );
    this.scrapeGauge('saga_sagas_manual', 'Sagas waiting in MANUAL for an operator.', () => this.sources?.manualSagas());
    this.scrapeGauge('saga_outbox_backlog', 'Events in the outbox not yet acknowledged by JetStream.', async () => (await this.backlog())?.unsent);
    this.scrapeGauge(
      'saga_outbox_oldest_unsent_age_seconds',
      'Age of the oldest unsent outbox event (0 when none): how far publication lags.',
      async () => {
        const b = await this.backlog();
        if (b === undefined || this.sources === undefined) return undefined;
        return b.oldestCreatedAt === undefined ? 0 : Math.max(0, this.sources.now() - b.oldestCreatedAt) / 1000;
      },
    );
    this.scrapeGauge(
      'saga_outbox_dead_letters',
      'Outbox events in the dead letters now (each holds back the later events of its ordering key until replayed or dropped).',
      () => this.sources?.deadLetters(),
    );
    this.scrapeGauge(
      'saga_compensation_success_ratio',
      'Compensations that succeeded / all that finished, over the alert window (1 without data).',
      () => (this.sources === undefined ? undefined : (this.sources.compensationSuccessRatio() ?? 1)),
    );
    this.scrapeGauge('saga_admission_shedding', 'Whether new sagas are refused now because the coordinator is overloaded (1) or not (0).', () =>
      this.admissionShedding === undefined ? undefined : Number(this.admissionShedding()),
    );
  }

  /** A gauge set from `read` at every scrape (left as is when it answers undefined). */
  private scrapeGauge(name: string, help: string, read: () => number | undefined | Promise<number | undefined>): void {
    const gauge: Gauge = new Gauge({
      name,
      help,
      registers: [this.registry],
      collect: async () => {
        const v = await read();
        if (v !== undefined) gauge.set(v);
      },
    });
  }

  private backlog(): Promise<OutboxBacklog | undefined> {
    if (this.sources === undefined) return Promise.resolve(undefined);
    this.backlogOfScrape ??= this.sources.outboxBacklog();
    return this.backlogOfScrape;
  }
}
