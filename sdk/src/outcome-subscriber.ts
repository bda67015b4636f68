// Subscribes to the coordinator's saga outcome events (COMPLETED, COMPENSATED,
// MANUAL, RESOLVED) with a durable JetStream pull consumer, so a subscriber
// that stops and starts again resumes where it left off.
//
// Delivery is at least once: an event is acknowledged after the handler
// resolves; a handler that throws gets the event again after `retryDelayMs`.
// Handlers must therefore be idempotent — `event.eventId` is unique per event
// and stable across redeliveries. Events of one saga arrive in order; the
// handler runs for one event at a time.

import { AckPolicy, DeliverPolicy, JetStreamApiCodes, JetStreamApiError, jetstream, jetstreamManager, type ConsumerMessages } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { SagaEvent } from '@saga/proto';
import { sleep } from './abortable-sleep.js';
import { silentLogger, type Logger } from './logger.js';
import { checkInteger, checkNonEmptyString, invalidOption } from './option-validation.js';
import { compensationStatusCodec, forwardStatusCodec, sagaStateCodec } from './saga-enum-codecs.js';
import type { CompensationStatus, ForwardStatus, SagaState } from './saga-enums.js';

/** The outcomes that have an event. */
export type OutcomeState = 'COMPLETED' | 'COMPENSATED' | 'MANUAL' | 'RESOLVED';
const OUTCOME_STATES: readonly OutcomeState[] = ['COMPLETED', 'COMPENSATED', 'MANUAL', 'RESOLVED'];

/** A saga outcome event as the coordinator publishes it on `<prefix>.events.<saga-name>.<state>`. */
export interface SagaOutcomeEvent {
  /** Unique per event and stable across redeliveries (also the Nats-Msg-Id): de-duplicate on it. */
  readonly eventId: string;
  readonly sagaId: string;
  readonly sagaName: string;
  readonly state: SagaState;
  readonly forwardStatus: ForwardStatus;
  readonly compensationStatus: CompensationStatus;
  readonly createdAt: Date | undefined;
  readonly occurredAt: Date | undefined;
  /** From the saga's start to this event. */
  readonly durationMs: number;
  /** The step whose failure started compensation ('' if none). */
  readonly failedStep: string;
  readonly reason: string;
  /** The operator's note (RESOLVED). */
  readonly resolutionNote: string;
  readonly metadata: Readonly<Record<string, string>>;
  /** Fields cut to fit NATS's max_payload ('reason', 'resolution_note', 'metadata'); empty = complete. GetSaga has them whole. */
  readonly truncatedFields: readonly string[];
  /** The subject it was published on. */
  readonly subject: string;
}

/** About one delivery of an event to the handler. */
export interface OutcomeDelivery {
  /** 1 on the first delivery. */
  readonly deliveryCount: number;
  /** Aborts when the handler's time is up or the subscription stops. */
  readonly signal: AbortSignal;
}

export type OutcomeHandler = (event: SagaOutcomeEvent, delivery: OutcomeDelivery) => void | Promise<void>;

/** Options of {@link subscribeOutcomes}. */
export interface OutcomeSubscriberOptions {
  /** An open NATS connection (`@nats-io/transport-node`); the caller owns and closes it. Required. */
  connection: NatsConnection;
  /** Durable consumer name: a subscription with the same name resumes where the last one stopped. Required. */
  durableName: string;
  /** Called for each event, one at a time. Required. */
  handler: OutcomeHandler;
  /** The coordinator's events stream (its `nats.stream.name`). Default "SAGA_EVENTS". */
  stream?: string;
  /** The coordinator's `events.subjectPrefix`. Default "saga". */
  subjectPrefix?: string;
  /** Only events of this saga name. Default: every saga. */
  sagaName?: string;
  /** Only these outcomes. Default: all four. Others are acknowledged without calling the handler. */
  states?: readonly OutcomeState[];
  /** Where a new durable consumer starts: every event in the stream ("all", default) or only new ones ("new"). */
  deliverPolicy?: 'all' | 'new';
  /** The handler's signal aborts after this many ms (the event is kept from redelivery meanwhile). Default 30000. */
  handlerTimeoutMs?: number;
  /** Wait before an event whose handler threw is delivered again, in ms. Default 1000. */
  retryDelayMs?: number;
  /** Deliveries of one event at most, then it is given up (logged). -1 = unlimited (default). */
  maxDeliver?: number;
  /** Deadline of JetStream API requests (consumer set-up), in ms. Default 5000. */
  requestTimeoutMs?: number;
  /** Logs handler failures and reconnections. Default silent. */
  logger?: Logger;
}

/** A running subscription. */
export interface OutcomeSubscription {
  /** The durable consumer's filter subject. */
  readonly filterSubject: string;
  /** Stops fetching, aborts and waits for the handler in progress; its event is redelivered later if not acknowledged. */
  stop(): Promise<void>;
}

const OWNER = 'subscribeOutcomes';

/**
 * Creates (or reuses) the durable consumer and starts delivering outcome events
 * to `handler`. Resolves once the consumer exists.
 */
export async function subscribeOutcomes(options: OutcomeSubscriberOptions): Promise<OutcomeSubscription> {
  const o = validate(options);
  const jsm = await jetstreamManager(o.connection, { timeout: o.requestTimeoutMs });
  const config = {
    durable_name: o.durableName,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: o.deliverPolicy === 'new' ? DeliverPolicy.New : DeliverPolicy.All,
    filter_subject: o.filterSubject,
    max_deliver: o.maxDeliver,
  };
  try {
    const existing = await jsm.consumers.info(o.stream, o.durableName);
    if (existing.config.filter_subject !== o.filterSubject || existing.config.max_deliver !== o.maxDeliver) {
      await jsm.consumers.update(o.stream, o.durableName, { filter_subject: o.filterSubject, max_deliver: o.maxDeliver });
    }
  } catch (err) {
    if (!(err instanceof JetStreamApiError && err.code === JetStreamApiCodes.ConsumerNotFound)) throw err;
    await jsm.consumers.add(o.stream, config);
  }
  const runner = new OutcomeRunner(o);
  runner.start();
  return { filterSubject: o.filterSubject, stop: () => runner.stop() };
}

interface Resolved {
  connection: NatsConnection;
  durableName: string;
  handler: OutcomeHandler;
  stream: string;
  filterSubject: string;
  states: ReadonlySet<SagaState>;
  deliverPolicy: 'all' | 'new';
  handlerTimeoutMs: number;
  retryDelayMs: number;
  maxDeliver: number;
  requestTimeoutMs: number;
  logger: Logger;
}

class OutcomeRunner {
  private readonly stopping = new AbortController();
  private messages: ConsumerMessages | undefined;
  private loop: Promise<void> | undefined;

  constructor(private readonly o: Resolved) {}

  start(): void {
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.stopping.abort(new Error('outcome subscription stopped'));
    await this.messages?.close().catch(() => undefined);
    await this.loop;
  }

  private async run(): Promise<void> {
    const { o } = this;
    const js = jetstream(o.connection, { timeout: o.requestTimeoutMs });
    while (!this.stopping.signal.aborted) {
      try {
        const consumer = await js.consumers.get(o.stream, o.durableName);
        this.messages = await consumer.consume({ max_messages: 64 });
        if (this.stopping.signal.aborted) await this.messages.close();
        for await (const m of this.messages) {
          if (this.stopping.signal.aborted) break;
          let event: SagaOutcomeEvent;
          try {
            event = toOutcomeEvent(SagaEvent.decode(m.data), m.subject);
          } catch (err) {
            // Not a SagaEvent (another publisher on the subject): nothing to retry.
            o.logger.warn({ err, subject: m.subject, seq: m.seq }, 'undecodable outcome event skipped');
            m.term('undecodable');
            continue;
          }
          if (!o.states.has(event.state)) {
            m.ack();
            continue;
          }
          if (await this.deliver(event, m.info.deliveryCount, () => m.working())) m.ack();
          else if (!this.stopping.signal.aborted) m.nak(o.retryDelayMs);
        }
      } catch (err) {
        if (this.stopping.signal.aborted) break;
        o.logger.warn({ err }, 'outcome subscription interrupted; resuming');
        await sleep(o.retryDelayMs, this.stopping.signal).catch(() => undefined);
      }
    }
  }

  /** Runs the handler, keeping the event from redelivery meanwhile. True if it succeeded. */
  private async deliver(event: SagaOutcomeEvent, deliveryCount: number, working: () => void): Promise<boolean> {
    const { o } = this;
    const timeout = AbortSignal.timeout(o.handlerTimeoutMs);
    const signal = AbortSignal.any([timeout, this.stopping.signal]);
    const keepAlive = setInterval(working, 5000);
    try {
      await o.handler(event, { deliveryCount, signal });
      return true;
    } catch (err) {
      o.logger.warn({ err, eventId: event.eventId, sagaId: event.sagaId, deliveryCount }, 'outcome handler failed; the event will be delivered again');
      return false;
    } finally {
      clearInterval(keepAlive);
    }
  }
}

function toOutcomeEvent(e: SagaEvent, subject: string): SagaOutcomeEvent {
  return {
    eventId: e.eventId,
    sagaId: e.sagaId,
    sagaName: e.sagaName,
    state: sagaStateCodec.fromProto(e.state),
    forwardStatus: forwardStatusCodec.fromProto(e.forwardStatus),
    compensationStatus: compensationStatusCodec.fromProto(e.compensationStatus),
    createdAt: e.createdAt,
    occurredAt: e.occurredAt,
    durationMs: Number(e.durationMs),
    failedStep: e.failedStep,
    reason: e.reason,
    resolutionNote: e.resolutionNote,
    metadata: { ...e.metadata },
    truncatedFields: [...e.truncatedFields],
    subject,
  };
}

const TOKEN = /^[A-Za-z0-9_-]+$/;

function validate(options: OutcomeSubscriberOptions): Resolved {
  if (options === null || typeof options !== 'object') throw invalidOption(OWNER, 'options', 'an object', options);
  if (options.connection === undefined || typeof options.connection.isClosed !== 'function') {
    throw invalidOption(OWNER, 'connection', 'an open NatsConnection', options.connection);
  }
  checkNonEmptyString(OWNER, 'durableName', options.durableName);
  if (!TOKEN.test(options.durableName)) throw invalidOption(OWNER, 'durableName', 'letters, digits, "_" or "-"', options.durableName);
  if (typeof options.handler !== 'function') throw invalidOption(OWNER, 'handler', 'a function', options.handler);
  const stream = options.stream ?? 'SAGA_EVENTS';
  if (!TOKEN.test(stream)) throw invalidOption(OWNER, 'stream', 'a stream name', stream);
  const prefix = options.subjectPrefix ?? 'saga';
  if (!/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/.test(prefix)) throw invalidOption(OWNER, 'subjectPrefix', 'subject tokens separated by "."', prefix);
  if (options.sagaName !== undefined && !TOKEN.test(options.sagaName)) throw invalidOption(OWNER, 'sagaName', 'a saga name', options.sagaName);
  const states: unknown = options.states ?? OUTCOME_STATES;
  if (!isStateList(states)) throw invalidOption(OWNER, 'states', `a non-empty list of ${OUTCOME_STATES.join(', ')}`, states);
  const deliverPolicy = options.deliverPolicy ?? 'all';
  if (deliverPolicy !== 'all' && deliverPolicy !== 'new') throw invalidOption(OWNER, 'deliverPolicy', '"all" or "new"', deliverPolicy);
  const maxDeliver = options.maxDeliver ?? -1;
  if (maxDeliver !== -1) checkInteger(OWNER, 'maxDeliver', maxDeliver, 1);
  // One state: the server filters; several: the server sends all four and the rest are acknowledged unseen.
  const stateToken = states.length === 1 ? (states[0] ?? '').toLowerCase() : '*';
  return {
    connection: options.connection,
    durableName: options.durableName,
    handler: options.handler,
    stream,
    filterSubject: `${prefix}.events.${options.sagaName ?? '*'}.${stateToken}`,
    states: new Set<SagaState>(states),
    deliverPolicy,
    handlerTimeoutMs: checkInteger(OWNER, 'handlerTimeoutMs', options.handlerTimeoutMs ?? 30_000, 1),
    retryDelayMs: checkInteger(OWNER, 'retryDelayMs', options.retryDelayMs ?? 1000, 0),
    maxDeliver,
    requestTimeoutMs: checkInteger(OWNER, 'requestTimeoutMs', options.requestTimeoutMs ?? 5000, 1),
    logger: options.logger ?? silentLogger(),
  };
}

function isStateList(v: unknown): v is readonly OutcomeState[] {
  return Array.isArray(v) && v.length > 0 && v.every((s) => OUTCOME_STATES.includes(s as OutcomeState));
}
