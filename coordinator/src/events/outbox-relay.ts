// Publishes outbox rows to JetStream and marks them sent on the publish ack.
//
// Order: rows are read and dispatched in seq (commit) order with a bounded
// number of publishes awaiting their ack; a row is never published while an
// earlier row with the same ordering key (the saga id) is unacknowledged, so a
// saga's events reach the stream in order. On a failure the relay stops
// dispatching, lets the publishes in flight settle, records the acks, backs off
// and starts again from the first unsent row.
//
// Exactly-once into the stream: every row is published with Nats-Msg-Id = its
// event id, so a re-publication (a lost ack, a crash before the row was marked
// sent) is dropped by JetStream within the stream's duplicate window.
//
// Several coordinators on one PostgreSQL database: a relay runs on every
// instance and publishes only the rows its instance owns (the store reads
// them; a claimed saga's rows move to its new owner, orphaned rows are
// claimed whole ordering keys at a time: postgres-outbox-claims.ts), so the
// rows of a key are published by one relay at a time. Each pass then reads
// from the first unsent row: claimed rows come with lower seqs. A row a stale
// owner publishes while its successor does too is dropped by JetStream's
// Nats-Msg-Id dedupe, as above.
//
// Poison: a row refused for what it is (too large for the server's
// max_payload, the stream's max_msg_size) holds back only the later rows of its
// ordering key, while other keys go on; after `deadLetterAfter` such refusals
// it moves to the dead letters (with an alert event), and the rows of its key
// wait behind it until an operator replays or drops it.

import { headers as natsHeaders } from '@nats-io/transport-node';
import type { JetStreamClient } from '@nats-io/jetstream';
import type { Logger } from 'pino';
import { reconnectDelayMs } from '../engine/backoff.js';
import type { EngineHooks } from '../engine/saga-engine.js';
import type { CoordinatorMetrics } from '../metrics/coordinator-metrics.js';
import type { OutboxRow, Store } from '../store/store.js';
import { abortableDelay } from './abortable-delay.js';
import { deadLetterAlertRow } from './dead-letter-alert.js';
import { errorSummary } from './nats-link.js';
import { isPermanentPublishError } from './publish-errors.js';

/** What the relay needs of the NATS connection. */
export interface JetStreamSource {
  jetstream(): JetStreamClient | undefined;
  whenReady(signal: AbortSignal): Promise<void>;
  /** A publish failed: check the connection's set-up (stream) again before the next try. */
  revalidate(): void;
}

export interface OutboxRelayOptions {
  readonly store: Store;
  readonly nats: JetStreamSource;
  readonly metrics: CoordinatorMetrics;
  readonly logger: Logger;
  /** Rows read per query. */
  readonly batchSize: number;
  /** Publishes awaiting their ack at most. */
  readonly maxInFlight: number;
  /** Deadline of one publish, until its ack. */
  readonly publishTimeoutMs: number;
  /** Fallback poll when nothing wakes the relay (rows written by other modules). */
  readonly pollIntervalMs: number;
  readonly initialBackoffMs: number;
  readonly maxBackoffMs: number;
  /** Non-transient publish failures of one row before it becomes a dead letter. */
  readonly deadLetterAfter: number;
  /** The coordinator's subject prefix: the dead-letter alert goes to <prefix>.alerts.outbox_dead_letter. */
  readonly subjectPrefix: string;
  /** Test crash hook ('after-outbox-publish'). */
  readonly crashPoint?: EngineHooks['crashPoint'];
  readonly now?: () => number;
  readonly random?: () => number;
}

export class OutboxRelay {
  private readonly stop = new AbortController();
  private loop: Promise<void> | undefined;
  /** Last seq dispatched in the current run; rows after it are read next. */
  private cursor = 0;
  /** Acknowledged rows not yet marked sent. */
  private acked: number[] = [];
  private marking: Promise<void> | undefined;
  private woken = false;
  private wakeUp: (() => void) | undefined;
  private failures = 0;
  /** Non-transient failures so far of rows not yet dead-lettered, by seq (cleared when published). */
  private readonly refusals = new Map<number, number>();
  /** Rows before the cursor came back (a dead letter replayed or dropped): read from the start. */
  private rewindPending = false;
  private readonly now: () => number;

  constructor(private readonly options: OutboxRelayOptions) {
    for (const k of ['batchSize', 'maxInFlight', 'publishTimeoutMs', 'pollIntervalMs', 'initialBackoffMs', 'maxBackoffMs', 'deadLetterAfter'] as const) {
      if (!Number.isInteger(options[k]) || options[k] < 1) throw new Error(`OutboxRelay: ${k} must be a positive integer`);
    }
    this.now = options.now ?? Date.now;
  }

  start(): void {
    if (this.loop !== undefined) throw new Error('OutboxRelay already started');
    this.loop = this.run().catch((err: unknown) => this.options.logger.error({ err }, 'outbox relay stopped unexpectedly'));
  }

  /** New rows were committed: look now rather than at the next poll. */
  wake(): void {
    this.woken = true;
    this.wakeUp?.();
  }

  /** Rows earlier than those read so far became publishable (a dead letter replayed or dropped): start again from the first. */
  rewind(): void {
    this.rewindPending = true;
    this.wake();
  }

  /** Stops dispatching, waits for the publishes in flight (bounded by their deadline), records their acks. */
  async close(): Promise<void> {
    this.stop.abort();
    this.wakeUp?.();
    await this.loop;
    await this.markAcked();
  }

  private async run(): Promise<void> {
    const { logger: log, nats } = this.options;
    while (!this.stop.signal.aborted) {
      await nats.whenReady(this.stop.signal);
      const js = nats.jetstream();
      if (this.stop.signal.aborted) break;
      if (js === undefined) continue;
      this.woken = false;
      if (this.options.store.ownership !== undefined) {
        // Rows claimed from other instances (and rows of this one committed out of seq order) may lie before
        // the cursor, so each pass reads from the first unsent row, once the previous pass's acks are recorded.
        await this.markAcked();
        this.cursor = 0;
      }
      if (this.rewindPending) {
        this.rewindPending = false;
        this.cursor = 0;
      }
      let read = 0;
      let failure: unknown;
      try {
        ({ read, failure } = await this.pass(js));
      } catch (err) {
        failure = err;
      }
      if (failure !== undefined) {
        this.failures += 1;
        this.options.metrics.outboxPublishErrors.inc();
        const backlog = await this.options.store.outboxBacklog().catch(() => undefined);
        const level = this.failures === 1 ? 'warn' : 'debug';
        log[level]({ err: errorSummary(failure), backlog: backlog?.unsent, failures: this.failures }, 'publishing outbox events failed; retrying');
        // Start again from the first unsent row once the acks so far are recorded.
        await this.markAcked();
        nats.revalidate();
        this.cursor = 0;
        await abortableDelay(this.backoff(), this.stop.signal);
        continue;
      }
      if (this.failures > 0) {
        log.info({ failures: this.failures }, 'publishing outbox events again');
        this.failures = 0;
      }
      if (read < this.options.batchSize) await this.idle();
    }
  }

  /** Reads one batch and publishes it. Resolves when every publish it started has settled. */
  private async pass(js: JetStreamClient): Promise<{ read: number; failure: unknown }> {
    const rows = await this.options.store.readPendingOutbox(this.cursor, this.options.batchSize);
    const inFlight = new Set<Promise<boolean>>();
    const lastOfKey = new Map<string, Promise<boolean>>();
    /** Keys whose row was refused in this pass: their later rows wait. */
    const held = new Set<string>();
    const refused: { row: OutboxRow; err: unknown }[] = [];
    let failure: unknown;
    for (const row of rows) {
      if (failure !== undefined || this.stop.signal.aborted) break;
      if (held.has(row.orderingKey)) continue;
      // Per-key order: wait for the ack of the key's previous event.
      const previous = lastOfKey.get(row.orderingKey);
      if (previous !== undefined && !(await previous)) {
        held.add(row.orderingKey);
        continue;
      }
      while (inFlight.size >= this.options.maxInFlight) await Promise.race(inFlight);
      if (failure !== undefined) break;
      const p: Promise<boolean> = this.publish(js, row).then(
        () => true,
        (err: unknown) => {
          if (isPermanentPublishError(err)) refused.push({ row, err });
          else failure ??= err;
          return false;
        },
      );
      inFlight.add(p);
      lastOfKey.set(row.orderingKey, p);
      void p.then(() => {
        inFlight.delete(p);
        if (lastOfKey.get(row.orderingKey) === p) lastOfKey.delete(row.orderingKey);
      });
      this.cursor = row.seq;
    }
    await Promise.all(inFlight);
    void this.markAcked();
    const waiting = await this.countRefusals(refused);
    // A refused row not yet dead-lettered is tried again after the backoff, from the first unsent row.
    return { read: rows.length, failure: failure ?? waiting?.err };
  }

  /** Counts each refusal; moves a row refused `deadLetterAfter` times to the dead letters. Returns a refusal still counting. */
  private async countRefusals(refused: readonly { row: OutboxRow; err: unknown }[]): Promise<{ err: unknown } | undefined> {
    let waiting: { err: unknown } | undefined;
    for (const { row, err } of refused) {
      const attempts = (this.refusals.get(row.seq) ?? 0) + 1;
      if (attempts < this.options.deadLetterAfter) {
        this.refusals.set(row.seq, attempts);
        waiting ??= { err };
        continue;
      }
      const { name, message } = errorSummary(err);
      const error = `${name}: ${message}`;
      const at = this.now();
      await this.options.store.deadLetterOutbox(row, { at, attempts, error }, deadLetterAlertRow(this.options.subjectPrefix, row, attempts, error, at));
      this.refusals.delete(row.seq);
      this.options.metrics.outboxDeadLettered.inc();
      this.options.logger.error(
        { eventId: row.id, subject: row.subject, orderingKey: row.orderingKey, bytes: row.payload.length, attempts, err: { name, message } },
        'outbox event cannot be published: moved to the dead letters; later events of its ordering key wait behind it',
      );
    }
    return waiting;
  }

  private async publish(js: JetStreamClient, row: OutboxRow): Promise<void> {
    const h = natsHeaders();
    for (const [k, v] of Object.entries(row.headers)) if (k !== 'Nats-Msg-Id') h.set(k, v);
    const ack = await js.publish(row.subject, row.payload, { msgID: row.id, timeout: this.options.publishTimeoutMs, headers: h });
    this.options.crashPoint?.('after-outbox-publish', row.orderingKey, '', '');
    this.acked.push(row.seq);
    if (this.refusals.size > 0) this.refusals.delete(row.seq);
    this.options.metrics.outboxPublished.inc();
    this.options.metrics.outboxPublishLag.observe(Math.max(0, this.now() - row.createdAt) / 1000);
    if (ack.duplicate) this.options.logger.debug({ eventId: row.id, subject: row.subject }, 'event was already in the stream');
  }

  /** Records the acks so far as one write; one write at a time. */
  private markAcked(): Promise<void> {
    if (this.marking !== undefined) return this.marking.then(() => this.markAcked());
    if (this.acked.length === 0) return Promise.resolve();
    const seqs = this.acked;
    this.acked = [];
    this.marking = this.options.store
      .markOutboxSent(seqs, this.now())
      .catch((err: unknown) => {
        // Kept for the next write; if lost (crash) the rows are re-published and de-duplicated.
        this.acked.unshift(...seqs);
        this.options.logger.error({ err }, 'marking outbox events sent failed');
      })
      .finally(() => (this.marking = undefined));
    return this.marking;
  }

  /** Waits for wake(), the poll interval or close(). */
  private async idle(): Promise<void> {
    if (this.woken || this.stop.signal.aborted) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, this.options.pollIntervalMs);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.wakeUp = done;
    });
    this.wakeUp = undefined;
  }

  private backoff(): number {
    return reconnectDelayMs(this.options, this.failures, this.options.random ?? Math.random);
  }
}
