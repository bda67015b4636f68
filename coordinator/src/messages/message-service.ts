// Transactional ("half") messages: prepare, commit, rollback, check-back,
// delayed delivery. Every change is decided by the pure message-decider, made
// durable (with its outbox row, in the same group-committed transaction), and
// only then acted on. Timers (check-backs, deliver_at) live in one heap and are
// re-armed from the table at start, so a restart loses nothing.

import type { Logger } from 'pino';
import { alreadyExists, invalidArgument, notFound, resourceExhausted, unavailable } from '../domain/errors.js';
import type { Clock } from '../engine/clock.js';
import { newSagaId } from '../engine/saga-id.js';
import { TimerQueue, type TimerHost } from '../engine/timer-queue.js';
import type { MessageStore, OutboxStore, UnitCommitter } from '../store/store.js';
import type { CheckInvoker } from './check-invoker.js';
import { KeyedMutex } from '../util/keyed-mutex.js';
import { DueQueue } from './due-queue.js';
import {
  checkDue,
  decideCheckAnswer,
  decideCommit,
  decideDelivery,
  decideRollback,
  nextWake,
  prepared,
  type Decision,
} from './message-decider.js';
import { deliveryOutboxId, deliveryRow, discardAlert } from './message-outbox.js';
import type { MessageSettings } from './message-settings.js';
import type { MessageRecord, MessageState, MessageView, PrepareInput } from './message-types.js';
import { validatePrepare } from './validate-prepare.js';
import { natsHeaderBytes } from '../events/nats-header-bytes.js';

/** Named instants at which a test can make the process die (kill -9 semantics). */
export type MessageCrashPoint = 'message-after-prepare' | 'message-after-commit';

export type MessageServiceStore = MessageStore & Pick<OutboxStore, 'outboxHas'> & UnitCommitter;

export interface MessageServiceOptions {
  /** The store (open): message tables, the outbox (to check ids), and commits. */
  readonly store: MessageServiceStore;
  readonly invoker: CheckInvoker;
  readonly settings: MessageSettings;
  /** Whether a producer name is a registered participant. */
  readonly isRegistered: (name: string) => boolean;
  /** The coordinator's event subject prefix: alerts go to <prefix>.alerts.message_discarded; producers may not use it. */
  readonly subjectPrefix: string;
  /** Subject patterns messages may use (see MessageSettings.subjects, resolved). */
  readonly allowedSubjects: readonly string[];
  readonly logger: Logger;
  readonly clock?: Clock;
  /** Test hook: called at crash points. */
  readonly crashPoint?: (point: MessageCrashPoint, messageId: string) => void;
  /** Called after outbox rows were committed (e.g. to wake the relay). */
  readonly onOutboxWritten?: () => void;
  /** The largest message NATS can carry now, payload and headers (max_payload); undefined = no check. */
  readonly maxEventBytes?: () => number;
  /** How often published_at is copied from the outbox and old messages are deleted. Default 5000 ms. */
  readonly maintenanceIntervalMs?: number;
  /** Rows per maintenance statement. Default 1000. */
  readonly maintenanceBatch?: number;
  /** Wait before a timer-driven transition whose write failed is tried again. Default 1000 ms. */
  readonly retryDelayMs?: number;
}

export interface PrepareResult {
  readonly messageId: string;
  readonly state: MessageState;
}

export class MessageService {
  private readonly store: MessageServiceStore;
  private readonly invoker: CheckInvoker;
  private readonly settings: MessageSettings;
  private readonly log: Logger;
  private readonly clock: Clock;
  private readonly timers: TimerQueue;
  private readonly locks = new KeyedMutex();
  /** Messages whose timer fired, waiting for a check-back slot. */
  private readonly due = new DueQueue();
  /** Messages being handled by a timer (check-back or delivery) right now. */
  private readonly running = new Set<string>();
  private readonly tasks = new Set<Promise<void>>();
  private readonly stopping = new AbortController();
  private readonly maintenanceIntervalMs: number;
  private readonly maintenanceBatch: number;
  private readonly retryDelayMs: number;
  private maintenanceTimer: NodeJS.Timeout | undefined;
  private maintenance: Promise<void> | undefined;
  private preparedCount = 0;
  private state: 'new' | 'running' | 'closing' | 'closed' = 'new';

  constructor(private readonly options: MessageServiceOptions) {
    this.store = options.store;
    this.invoker = options.invoker;
    this.settings = options.settings;
    this.log = options.logger;
    this.clock = options.clock ?? { now: () => Date.now() };
    this.maintenanceIntervalMs = options.maintenanceIntervalMs ?? 5000;
    this.maintenanceBatch = options.maintenanceBatch ?? 1000;
    this.retryDelayMs = options.retryDelayMs ?? 1000;
    for (const [name, v] of [
      ['maintenanceIntervalMs', this.maintenanceIntervalMs],
      ['maintenanceBatch', this.maintenanceBatch],
      ['retryDelayMs', this.retryDelayMs],
    ] as const) {
      if (!Number.isInteger(v) || v < 1) throw new Error(`MessageService: ${name} must be a positive integer`);
    }
    this.timers = new TimerQueue(this.clock, (id) => this.onTimer(id), clampedTimers);
  }

  /** Re-arms the check-back of every PREPARED message and the delivery of every committed one still waiting. */
  async start(): Promise<{ prepared: number; scheduled: number }> {
    if (this.state !== 'new') throw new Error('MessageService already started');
    this.state = 'running';
    let scheduled = 0;
    await this.store.loadPendingMessages((id, at, state) => {
      if (state === 'COMMITTED') scheduled += 1;
      this.timers.set(id, at);
    });
    this.preparedCount = await this.store.countPreparedMessages();
    this.maintenanceTimer = setInterval(() => this.runMaintenance(), this.maintenanceIntervalMs);
    this.maintenanceTimer.unref();
    if (this.preparedCount + scheduled > 0) this.log.info({ prepared: this.preparedCount, scheduled }, 'resumed transactional messages');
    return { prepared: this.preparedCount, scheduled };
  }

  /** Stops timers, cancels check-backs in flight (they are made again after a restart), waits for writes. */
  async close(): Promise<void> {
    if (this.state === 'closing' || this.state === 'closed') return;
    this.state = 'closing';
    this.timers.stop();
    clearInterval(this.maintenanceTimer);
    this.stopping.abort();
    await Promise.allSettled([...this.tasks]);
    await this.maintenance;
    await this.locks.idle();
    this.state = 'closed';
  }

  async prepare(input: PrepareInput): Promise<PrepareResult> {
    this.assertRunning();
    const now = this.clock.now();
    const v = validatePrepare(input, this.settings, {
      now,
      isRegistered: this.options.isRegistered,
      reservedSubjectPrefix: this.options.subjectPrefix,
      allowedSubjects: this.options.allowedSubjects,
    });
    const id = v.messageId !== '' ? v.messageId : newSagaId(now);
    this.assertPublishable(id, v.payload, v.headers);
    return this.locks.run(id, async () => {
      const existing = await this.store.getMessage(id);
      if (existing !== undefined) {
        if (existing.contentHash !== v.contentHash) throw alreadyExists(`message "${id}" already exists with different content`);
        return { messageId: id, state: existing.state };
      }
      // Its delivery will be published with Nats-Msg-Id = id: an event with that id would swallow it.
      if (await this.store.outboxHas(id)) throw alreadyExists(`message_id "${id}" is in use by a coordinator event`);
      if (this.preparedCount >= this.settings.maxPrepared) {
        throw resourceExhausted(`${this.preparedCount} messages are waiting for a decision, the coordinator's limit; retry later`);
      }
      const m = prepared(v, id, now);
      await this.store.commit({ messageInserts: [{ record: m, payload: v.payload }] });
      this.preparedCount += 1;
      this.options.crashPoint?.('message-after-prepare', id);
      this.log.debug({ messageId: id, subject: m.subject, producer: m.producer }, 'message prepared');
      this.arm(m);
      return { messageId: id, state: m.state };
    });
  }

  async commit(messageId: string): Promise<MessageState> {
    this.assertRunning();
    requireId(messageId);
    return this.transition(messageId, 'producer', (m, now) => decideCommit(m, now));
  }

  async rollback(messageId: string, reason: string): Promise<MessageState> {
    this.assertRunning();
    requireId(messageId);
    if (reason.length > 1024) throw invalidArgument('reason', 'is longer than 1024 characters');
    return this.transition(messageId, 'producer', (m, now) => decideRollback(m, now, reason || 'rolled back by the producer'));
  }

  async get(messageId: string): Promise<MessageView> {
    requireId(messageId);
    const view = await this.store.viewMessage(messageId, deliveryOutboxId(messageId));
    if (view === undefined) throw notFound(`message "${messageId}" not found`);
    return view;
  }

  /**
   * A pending message this instance just claimed from an expired one (a shared
   * store): its check-back or delivery is armed here, due at `wakeAt`.
   */
  adopt(messageId: string, wakeAt: number): void {
    if (this.state !== 'running') return;
    this.timers.set(messageId, wakeAt);
  }

  /**
   * This instance's lease was lost: other instances may claim its pending
   * messages, so their check-backs and deliveries are no longer armed here
   * (claimed again, by whoever comes first, they are re-armed there).
   */
  dropAll(): void {
    this.timers.clear();
    this.due.clear();
  }

  /** PREPARED messages right now (for gauges). */
  preparedMessages(): number {
    return this.preparedCount;
  }

  // ---- internals -------------------------------------------------------

  /** A message NATS cannot carry would never be delivered: refuse it now. */
  private assertPublishable(id: string, payload: Buffer, headers: Readonly<Record<string, string>>): void {
    const limit = this.options.maxEventBytes?.();
    if (limit === undefined) return;
    const headerBytes = natsHeaderBytes({ ...headers, 'Nats-Msg-Id': id });
    if (payload.length + headerBytes > limit) {
      throw invalidArgument(
        'payload',
        `is ${payload.length} bytes; with its ${headerBytes} bytes of headers that is more than ${limit} bytes, the most NATS carries (max_payload)`,
      );
    }
  }

  private assertRunning(): void {
    if (this.state !== 'running') throw unavailable('the coordinator is shutting down; retry later');
  }

  /** Read, decide and write one change of a message under its lock. */
  private transition(id: string, cause: string, decide: (m: MessageRecord, now: number) => Decision): Promise<MessageState> {
    return this.locks.run(id, async () => {
      const m = await this.store.getMessage(id);
      if (m === undefined) throw notFound(`message "${id}" not found`);
      return this.apply(m, decide(m, this.clock.now()), cause);
    });
  }

  /** Makes a decision durable (state change + outbox rows in one transaction), then acts on it. */
  private async apply(m: MessageRecord, d: Decision, cause: string): Promise<MessageState> {
    if (d.kind === 'refused') throw d.error;
    if (d.kind === 'unchanged') return d.state;
    const next = d.next;
    const now = this.clock.now();
    await this.store.commit({
      messageUpdates: [
        {
          next,
          fromVersion: m.version,
          delivery: d.enqueue ? deliveryRow(next, now) : undefined,
          alert: d.alert ? discardAlert(next, this.options.subjectPrefix, now) : undefined,
        },
      ],
    });
    if (m.state === 'PREPARED' && next.state !== 'PREPARED') this.preparedCount -= 1;
    if (m.state === 'PREPARED' && next.state === 'COMMITTED') this.options.crashPoint?.('message-after-commit', next.id);
    if (d.enqueue || d.alert) this.options.onOutboxWritten?.();
    this.arm(next);
    this.logChange(m, next, cause);
    return next.state;
  }

  private logChange(m: MessageRecord, next: MessageRecord, cause: string): void {
    const fields = { messageId: next.id, subject: next.subject, producer: next.producer, checks: next.checks, cause };
    if (next.state === 'DISCARDED') this.log.warn({ ...fields, reason: next.reason }, 'message discarded after its last check-back');
    else if (next.state !== m.state) this.log.info({ ...fields, state: next.state, reason: next.reason || undefined }, 'message decided');
    else if (next.enqueuedAt !== undefined && m.enqueuedAt === undefined) this.log.debug(fields, 'delayed message handed to the outbox');
    else this.log.debug({ ...fields, nextCheckAt: next.nextCheckAt }, 'check-back undecided');
  }

  private arm(m: MessageRecord): void {
    const at = nextWake(m);
    if (at === undefined || this.state !== 'running') this.timers.cancel(m.id);
    else this.timers.set(m.id, at);
  }

  /** A check-back or delivery is due: run it when a slot is free. */
  private onTimer(id: string): void {
    if (this.state !== 'running') return;
    this.due.add(id);
    this.pump();
  }

  private pump(): void {
    while (this.running.size < this.settings.maxConcurrentChecks) {
      // One due while its run is in progress is picked up when that run finishes.
      const id = this.due.take((candidate) => this.running.has(candidate));
      if (id === undefined) return;
      this.running.add(id);
      const task = this.wake(id)
        .catch((err: unknown) => {
          this.log.error({ err, messageId: id }, 'transactional message step failed; retrying');
          if (this.state === 'running') this.timers.set(id, this.clock.now() + this.retryDelayMs);
        })
        .finally(() => {
          this.running.delete(id);
          this.due.finished(id);
          this.tasks.delete(task);
          if (this.state === 'running') this.pump();
        });
      this.tasks.add(task);
    }
  }

  private async wake(id: string): Promise<void> {
    const m = await this.store.getMessage(id);
    if (m === undefined) return;
    const now = this.clock.now();
    if (m.state === 'COMMITTED') {
      if (decideDelivery(m, now).kind === 'unchanged') this.arm(m);
      else await this.transition(id, 'deliver_at', (cur, at) => decideDelivery(cur, at));
      return;
    }
    const check = checkDue(m, now);
    if (check === undefined) {
      this.arm(m);
      return;
    }
    // The call runs outside the lock: a CommitMessage arriving meanwhile is not held up by it.
    const answer = await this.invoker.check(
      {
        producer: m.producer,
        messageId: m.id,
        key: m.key,
        subject: m.subject,
        headers: m.headers,
        check,
        deadline: now + m.policy.checkTimeoutMs,
      },
      this.stopping.signal,
    );
    // A check cancelled by shutdown does not count; it is made again after the restart.
    if (this.stopping.signal.aborted) return;
    if (answer.kind === 'error') {
      this.log.warn({ messageId: id, producer: m.producer, check, code: answer.code, error: answer.message }, 'check-back failed');
    }
    await this.locks.run(id, async () => {
      const cur = await this.store.getMessage(id);
      if (cur === undefined) return;
      // Decided (or checked) meanwhile by the producer: this answer is stale.
      if (cur.version !== m.version) {
        this.arm(cur);
        return;
      }
      await this.apply(cur, decideCheckAnswer(cur, answer, this.clock.now()), `check-back ${check}`);
    });
  }

  private runMaintenance(): void {
    if (this.maintenance !== undefined || this.state !== 'running') return;
    const before = this.clock.now() - this.settings.retentionMs;
    this.maintenance = (async () => {
      await this.store.syncPublishedMessages(this.maintenanceBatch);
      const deleted = await this.store.deleteMessagesDecidedBefore(before, this.maintenanceBatch);
      if (deleted > 0) this.log.debug({ deleted }, 'deleted decided messages past retention');
    })()
      .catch((err: unknown) => this.log.warn({ err }, 'transactional message maintenance failed'))
      .finally(() => {
        this.maintenance = undefined;
      });
  }
}

// Node fires a setTimeout longer than 2^31-1 ms after 1 ms; deliver_at may be
// 30 days away. An early wake finds nothing due and the queue re-arms.
const MAX_TIMEOUT_MS = 2_147_483_647;
const clampedTimers: TimerHost = {
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, Math.min(ms, MAX_TIMEOUT_MS));
    t.unref();
    return t;
  },
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

function requireId(id: string): void {
  if (id === '') throw invalidArgument('message_id', 'is required');
}
