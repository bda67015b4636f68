import {
  AckPolicy,
  DeliverPolicy,
  jetstream,
  jetstreamManager,
  JetStreamApiCodes,
  JetStreamApiError,
  type ConsumerMessages,
  type JetStreamManager,
  type JsMsg,
} from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { sleep } from './abortable-sleep.js';
import { silentLogger, type Logger } from './logger.js';
import { checkInteger, checkNonEmptyString, invalidOption } from './option-validation.js';
import type { ProcessedMessageLog } from './processed-message-log.js';

/** One message as the handler sees it. */
export interface ConsumedMessage {
  /** The Nats-Msg-Id header (a transactional message's id), or "<stream>:<sequence>" without one. */
  readonly messageId: string;
  readonly subject: string;
  readonly payload: Buffer;
  readonly headers: Readonly<Record<string, string>>;
  /** 1 on the first delivery. */
  readonly deliveryCount: number;
  readonly streamSequence: number;
  /** Aborted when the handler's time is up or the consumer is closing. */
  readonly signal: AbortSignal;
  /** Child logger bound to the message id and subject. */
  readonly logger: Logger;
}

/**
 * Applies a message's effect inside the consumer's local transaction `tx`.
 * Throwing rolls the transaction back and the message is redelivered later.
 */
export type ConsumedMessageHandler<Tx> = (message: ConsumedMessage, tx: Tx) => Promise<void>;

/** Options of {@link IdempotentConsumer}. */
export interface IdempotentConsumerOptions<Tx> {
  /** An open NATS connection (not closed by the consumer). Give this or `servers`. */
  connection?: NatsConnection;
  /** NATS server URLs to connect to (the connection is the consumer's own). */
  servers?: string | string[];
  /** Durable consumer name (also the key of the processed-message records). Required. */
  durable: string;
  /** Subject (wildcards allowed) the consumer receives. Required. */
  filterSubject: string;
  /** The stream; default: the stream that captures `filterSubject`, looked up (and waited for) at start. */
  stream?: string;
  /** Create the stream with these subjects if it does not exist (requires `stream`). Default: never create it. */
  createStream?: { subjects: string[] };
  /** The consumer's record of processed messages, in its business database. Required. */
  log: ProcessedMessageLog<Tx>;
  handler: ConsumedMessageHandler<Tx>;
  /** The server redelivers a message not acknowledged within this many ms. Default 30000. */
  ackWaitMs?: number;
  /** Deliveries of one message at most; -1 (default) = until it succeeds. */
  maxDeliver?: number;
  /** Redelivery delay after a failed handler: doubling from this, capped by maxRetryDelayMs. Default 200. */
  initialRetryDelayMs?: number;
  /** Default 30000. */
  maxRetryDelayMs?: number;
  /** Messages pulled ahead of processing. Default 10. */
  prefetch?: number;
  /** How long start() waits for the stream to exist. Default 30000. */
  startTimeoutMs?: number;
  /** How long close() lets the message in hand finish. Default 5000. */
  drainTimeoutMs?: number;
  /** Default silent. Payloads are never logged. */
  logger?: Logger;
}

/**
 * A durable JetStream pull consumer that makes message handling idempotent:
 * each message's handler runs in a local transaction of the consumer's
 * database that also records the message id; the message is acknowledged
 * after that transaction commits; a message already recorded (a redelivery
 * after a crash or a lost ack, a re-publication) is acknowledged without
 * running the handler again. Messages are handled one at a time, in stream
 * order (a failed one is redelivered later, after the ones behind it).
 *
 * Guarantees the effect inside the transaction happens once per message id.
 * Does not make effects outside the transaction (calls, e-mails) once-only.
 */
export class IdempotentConsumer<Tx> {
  private readonly options: Required<
    Pick<
      IdempotentConsumerOptions<Tx>,
      'durable' | 'filterSubject' | 'ackWaitMs' | 'maxDeliver' | 'initialRetryDelayMs' | 'maxRetryDelayMs' | 'prefetch' | 'startTimeoutMs' | 'drainTimeoutMs'
    >
  >;
  private readonly log: ProcessedMessageLog<Tx>;
  private readonly handler: ConsumedMessageHandler<Tx>;
  private readonly logger: Logger;
  private readonly stopping = new AbortController();
  private connection: NatsConnection | undefined;
  private ownsConnection = false;
  private stream: string | undefined;
  private messages: ConsumerMessages | undefined;
  private loop: Promise<void> | undefined;
  private current: Promise<void> | undefined;
  private state: 'new' | 'started' | 'closed' = 'new';

  constructor(private readonly config: IdempotentConsumerOptions<Tx>) {
    const owner = 'IdempotentConsumer';
    if (typeof config !== 'object' || config === null) throw invalidOption(owner, 'options', 'an object', config);
    if ((config.connection === undefined) === (config.servers === undefined)) {
      throw invalidOption(owner, 'connection/servers', 'exactly one of connection and servers', undefined);
    }
    if (typeof config.log?.transaction !== 'function' || typeof config.log.markProcessed !== 'function') {
      throw invalidOption(owner, 'log', 'a ProcessedMessageLog', config.log);
    }
    if (typeof config.handler !== 'function') throw invalidOption(owner, 'handler', 'a function', config.handler);
    if (config.createStream !== undefined && config.stream === undefined) throw invalidOption(owner, 'stream', 'set when createStream is', undefined);
    this.options = {
      durable: checkNonEmptyString(owner, 'durable', config.durable),
      filterSubject: checkNonEmptyString(owner, 'filterSubject', config.filterSubject),
      ackWaitMs: checkInteger(owner, 'ackWaitMs', config.ackWaitMs ?? 30_000, 1000),
      maxDeliver: checkInteger(owner, 'maxDeliver', config.maxDeliver ?? -1, -1),
      initialRetryDelayMs: checkInteger(owner, 'initialRetryDelayMs', config.initialRetryDelayMs ?? 200, 1),
      maxRetryDelayMs: checkInteger(owner, 'maxRetryDelayMs', config.maxRetryDelayMs ?? 30_000, 1),
      prefetch: checkInteger(owner, 'prefetch', config.prefetch ?? 10, 1, 10_000),
      startTimeoutMs: checkInteger(owner, 'startTimeoutMs', config.startTimeoutMs ?? 30_000, 0),
      drainTimeoutMs: checkInteger(owner, 'drainTimeoutMs', config.drainTimeoutMs ?? 5_000, 0),
    };
    if (this.options.maxDeliver === 0) throw invalidOption(owner, 'maxDeliver', '-1 or a positive integer', 0);
    if (config.stream !== undefined) checkNonEmptyString(owner, 'stream', config.stream);
    this.log = config.log;
    this.handler = config.handler;
    this.logger = (config.logger ?? silentLogger()).child({ consumer: this.options.durable });
  }

  /** Connects (if needed), finds or creates the stream, creates the durable consumer if missing, and starts consuming. */
  async start(): Promise<void> {
    if (this.state !== 'new') throw new Error('IdempotentConsumer: start() can be called once');
    this.state = 'started';
    try {
      if (this.config.connection !== undefined) this.connection = this.config.connection;
      else {
        this.connection = await connect({ servers: this.config.servers, name: this.options.durable, maxReconnectAttempts: -1 });
        this.ownsConnection = true;
      }
      const jsm = await jetstreamManager(this.connection);
      this.stream = await this.findStream(jsm);
      await this.ensureConsumer(jsm, this.stream);
      this.loop = this.run(this.stream);
    } catch (err) {
      await this.close();
      throw err;
    }
    this.logger.info({ stream: this.stream, filterSubject: this.options.filterSubject }, 'consuming');
  }

  /** Stops pulling, lets the message in hand finish (bounded), closes its own connection. Idempotent. */
  async close(): Promise<void> {
    if (this.state === 'closed') return;
    this.state = 'closed';
    await this.messages?.close().catch(() => undefined);
    const inHand = this.current;
    if (inHand !== undefined && !(await settlesWithin(inHand, this.options.drainTimeoutMs))) {
      this.logger.warn('the message in hand did not finish in time; it will be redelivered');
    }
    this.stopping.abort(new DOMException('the consumer is closing', 'AbortError'));
    await this.loop?.catch(() => undefined);
    if (this.ownsConnection) await this.connection?.close().catch(() => undefined);
  }

  private async findStream(jsm: JetStreamManager): Promise<string> {
    const named = this.config.stream;
    const deadline = Date.now() + this.options.startTimeoutMs;
    for (;;) {
      try {
        if (named === undefined) return await jsm.streams.find(this.options.filterSubject);
        await jsm.streams.info(named);
        return named;
      } catch (err) {
        if (!isNotFound(err)) throw err;
        if (named !== undefined && this.config.createStream !== undefined) {
          await jsm.streams.add({ name: named, subjects: this.config.createStream.subjects });
          this.logger.info({ stream: named }, 'created the stream');
          return named;
        }
        if (Date.now() >= deadline) throw new Error(`IdempotentConsumer: no stream ${named === undefined ? `captures "${this.options.filterSubject}"` : `"${named}"`}`);
        // The stream's owner (e.g. the coordinator) may not have created it yet.
        await sleep(250, this.stopping.signal);
      }
    }
  }

  private async ensureConsumer(jsm: JetStreamManager, stream: string): Promise<void> {
    try {
      const info = await jsm.consumers.info(stream, this.options.durable);
      if (info.config.filter_subject !== undefined && info.config.filter_subject !== this.options.filterSubject) {
        this.logger.warn({ existing: info.config.filter_subject }, 'the durable consumer exists with another filter subject; using it as it is');
      }
      return;
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    await jsm.consumers.add(stream, {
      durable_name: this.options.durable,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      filter_subject: this.options.filterSubject,
      ack_wait: this.options.ackWaitMs * 1_000_000,
      max_deliver: this.options.maxDeliver,
      max_ack_pending: Math.max(1000, this.options.prefetch * 10),
    });
  }

  private async run(stream: string): Promise<void> {
    const js = jetstream(this.requireConnection());
    while (this.state === 'started') {
      try {
        const consumer = await js.consumers.get(stream, this.options.durable);
        const messages = await consumer.consume({ max_messages: this.options.prefetch });
        this.messages = messages;
        if (this.state !== 'started') await messages.close();
        for await (const m of messages) {
          // Messages pulled ahead are left unacknowledged: the server redelivers them after ack_wait.
          if (this.state !== 'started') break;
          this.current = this.process(stream, m);
          await this.current;
          this.current = undefined;
        }
      } catch (err) {
        if (this.state !== 'started') break;
        this.logger.warn({ err }, 'consuming failed; starting again');
      }
      if (this.state === 'started') await sleep(1000, this.stopping.signal).catch(() => undefined);
    }
  }

  private async process(stream: string, m: JsMsg): Promise<void> {
    const headers: Record<string, string> = {};
    if (m.headers !== undefined) for (const [k, v] of m.headers) headers[k] = v.join(',');
    const messageId = m.headers?.get('Nats-Msg-Id') || `${stream}:${m.seq}`;
    const logger = this.logger.child({ messageId, subject: m.subject });
    const timeout = AbortSignal.timeout(Math.max(1, this.options.ackWaitMs - 500));
    const signal = AbortSignal.any([timeout, this.stopping.signal]);
    const message: ConsumedMessage = {
      messageId,
      subject: m.subject,
      payload: Buffer.from(m.data),
      headers: Object.freeze(headers),
      deliveryCount: m.info.deliveryCount,
      streamSequence: m.info.streamSequence,
      signal,
      logger,
    };
    try {
      const outcome = await this.log.transaction(async (tx) => {
        if (!(await this.log.markProcessed(tx, this.options.durable, messageId, m.subject))) return 'duplicate' as const;
        await this.handler(message, tx);
        signal.throwIfAborted();
        return 'processed' as const;
      });
      m.ack();
      if (outcome === 'duplicate') logger.info({ deliveryCount: message.deliveryCount }, 'already processed; acknowledged without running the handler');
      else logger.debug({ deliveryCount: message.deliveryCount }, 'processed');
    } catch (err) {
      const delayMs = Math.min(this.options.maxRetryDelayMs, this.options.initialRetryDelayMs * 2 ** Math.min(30, message.deliveryCount - 1));
      logger.warn({ err, deliveryCount: message.deliveryCount, retryInMs: delayMs }, 'handler failed; the message will be redelivered');
      m.nak(delayMs);
    }
  }

  private requireConnection(): NatsConnection {
    if (this.connection === undefined) throw new Error('IdempotentConsumer is not started');
    return this.connection;
  }
}

function isNotFound(err: unknown): boolean {
  return (
    err instanceof JetStreamApiError &&
    (err.code === JetStreamApiCodes.StreamNotFound || err.code === JetStreamApiCodes.ConsumerNotFound || err.code === 10059)
  );
}

async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([promise.then(() => true, () => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
