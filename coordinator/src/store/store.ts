// The durable log behind the engine, backend-neutral: SQLite is the embedded
// default; a PostgreSQL store shared by several coordinators implements the
// same parts. A backend implements each part below (sagas, journal, outbox,
// transactional messages) over domain types only: no SQL crosses this boundary.
//
// Writes are units of work committed atomically and grouped: many sagas' units
// share one transaction and one fsync. A journal append carries its sequence
// number; (saga key, seq) is unique, so a second writer of the same saga fails
// its transaction instead of interleaving (optimistic concurrency on version).

import type { JournalEvent } from '../domain/journal-event.js';
import type { SagaDefinition, SagaState, SagaSummary, ListSagasFilter } from '../domain/saga-types.js';
import type { MessageRecord, MessageState, MessageView } from '../messages/message-types.js';
import type { MessageListReads } from '../messages/message-list.js';

export interface SagaRow {
  readonly key: number;
  readonly id: string;
  readonly name: string;
  readonly state: SagaState;
  readonly createdAt: number;
  readonly updatedAt: number;
  readonly finishedAt: number | undefined;
  readonly deadlineAt: number | undefined;
  readonly definition: SagaDefinition;
  /** Hash of the definition as requested, for idempotent StartSaga. */
  readonly definitionHash: string;
  readonly failedStep: string;
  readonly reason: string;
  readonly note: string;
  readonly version: number;
  /**
   * The saga's fencing epoch on a store shared by several coordinators (see
   * SagaOwnership): bumped whenever another instance takes the saga over.
   * Absent (0) on a store with one writer.
   */
  readonly epoch?: number;
  /** The instance owning the saga on a shared store. */
  readonly owner?: string;
}

export interface SagaInsert {
  readonly key: number;
  readonly id: string;
  readonly state: SagaState;
  readonly createdAt: number;
  readonly deadlineAt: number | undefined;
  readonly definition: SagaDefinition;
  readonly definitionHash: string;
}

/** The summary columns of a saga after a state change. */
export interface SagaUpdate {
  readonly key: number;
  readonly state: SagaState;
  readonly updatedAt: number;
  readonly finishedAt: number | undefined;
  readonly failedStep: string;
  readonly reason: string;
  readonly note: string;
  readonly version: number;
}

export interface JournalAppend {
  readonly key: number;
  readonly seq: number;
  readonly event: JournalEvent;
}

/** An event to publish, written in the same transaction as the change it describes. */
export interface OutboxInsert {
  readonly id: string;
  readonly subject: string;
  readonly payload: Buffer;
  readonly headers: Readonly<Record<string, string>>;
  readonly createdAt: number;
  /** Per-stream ordering key (e.g. the saga id): events of one key are published in order. */
  readonly orderingKey: string;
}

/** An outbox row as stored: `seq` is its commit order. */
export interface OutboxRow extends OutboxInsert {
  readonly seq: number;
}

/** An outbox row that could not be published; the unsent rows of its ordering key wait behind it. */
export interface DeadLetterRow extends OutboxRow {
  readonly failedAt: number;
  /** Publish attempts that failed with a non-transient error. */
  readonly attempts: number;
  /** The last publish error (name and message). */
  readonly error: string;
  /** Unsent outbox rows of the same ordering key waiting behind it. */
  readonly waitingBehind: number;
}

/** What waits in the outbox: unsent rows and the creation time of the oldest. */
export interface OutboxBacklog {
  readonly unsent: number;
  readonly oldestCreatedAt: number | undefined;
}

/** A new transactional message with its payload; ignored if the id exists (the caller checked under its lock). */
export interface MessageInsert {
  readonly record: MessageRecord;
  readonly payload: Buffer;
}

/**
 * A message's changed fields (state, checks, decided_at, next_check_at,
 * enqueued_at, reason, version), applied only if it is still at `fromVersion`.
 * A write that does not apply is skipped, never failing the batch it is in.
 */
export interface MessageUpdate {
  readonly next: MessageRecord;
  readonly fromVersion: number;
  /** An outbox row carrying the message (its payload read from the stored message), written only if it is now COMMITTED at next.version. */
  readonly delivery?: MessageDelivery;
  /** An outbox row (an alert), written only if the message is now DISCARDED at next.version. */
  readonly alert?: OutboxInsert;
}

/** The outbox row of a message's delivery; subject and payload are the stored message's. */
export interface MessageDelivery {
  readonly outboxId: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly orderingKey: string;
  readonly createdAt: number;
}

/**
 * The epoch a saga was loaded with: the unit is written only if the saga
 * still has it, checked in the unit's transaction; else the unit alone fails
 * with SagaFencedError (another instance took the saga over).
 */
export interface SagaFence {
  readonly key: number;
  readonly epoch: number;
}

export interface WriteUnit {
  readonly fence?: SagaFence;
  readonly inserts?: readonly SagaInsert[];
  readonly journal?: readonly JournalAppend[];
  readonly updates?: readonly SagaUpdate[];
  readonly outbox?: readonly OutboxInsert[];
  readonly messageInserts?: readonly MessageInsert[];
  readonly messageUpdates?: readonly MessageUpdate[];
}

export interface ListSagasPage {
  readonly sagas: SagaSummary[];
  readonly nextPageToken: string;
}

/** Makes units of work durable. */
export interface UnitCommitter {
  /** Resolves once the unit is durable (group-committed with others). */
  commit(unit: WriteUnit): Promise<void>;
}

/** Saga rows: creation keys, lookups, listing, retention, counts. */
export interface SagaStore {
  /**
   * A new saga key, unique among every writer of the store: keys come from
   * blocks reserved durably (see saga-key-blocks.ts), so a restart or another
   * coordinator never hands out a key again.
   */
  nextSagaKey(): Promise<number>;
  getSagaRow(id: string): Promise<SagaRow | undefined>;
  listSagas(filter: ListSagasFilter): Promise<ListSagasPage>;
  /** Deletes up to `limit` finished sagas (terminal states) that finished before `before`, with their journals. */
  deleteFinishedBefore(before: number, limit: number): Promise<number>;
  /** Number of sagas per state (for gauges and alerts). */
  countByState(): Promise<Map<SagaState, number>>;
}

/** The journal of each saga. */
export interface JournalStore {
  getJournal(key: number): Promise<JournalEvent[]>;
  /** Streams every saga in an active state with its journal, for recovery. */
  loadActiveSagas(visit: (row: SagaRow, events: JournalEvent[]) => void): Promise<number>;
}

/** Events to publish, written with the changes they describe. */
export interface OutboxStore {
  /**
   * Up to `limit` unsent outbox rows with seq > `afterSeq`, in seq (commit)
   * order, skipping ordering keys held by a dead letter. On a shared store,
   * only the rows this instance owns (its relay publishes them).
   */
  readPendingOutbox(afterSeq: number, limit: number): Promise<OutboxRow[]>;
  /** Marks outbox rows sent (their publication was acknowledged). */
  markOutboxSent(seqs: readonly number[], sentAt: number): Promise<void>;
  outboxBacklog(): Promise<OutboxBacklog>;
  /** Deletes up to `limit` rows sent before `sentBefore` (found by when they were sent, not by walking from the oldest). */
  deleteSentOutbox(sentBefore: number, limit: number): Promise<number>;
  /** Deletes the `count` oldest unsent rows whose subject starts with one of `subjectPrefixes`. */
  dropOldestUnsentOutbox(count: number, subjectPrefixes: readonly string[]): Promise<number>;
  /** Whether an outbox row has this id. */
  outboxHas(id: string): Promise<boolean>;
}

/** Outbox rows that could not be published (dead letters), each holding back the rows of its ordering key. */
export interface DeadLetterStore {
  /**
   * Moves an unsent outbox row to the dead letters (with `alert`, an outbox row
   * announcing it, in the same transaction). From then on readPendingOutbox
   * skips the rows of its ordering key. False if the row was no longer unsent.
   */
  deadLetterOutbox(
    row: OutboxRow,
    failure: { readonly at: number; readonly attempts: number; readonly error: string },
    alert: OutboxInsert | undefined,
  ): Promise<boolean>;
  /** Up to `limit` dead letters with seq > `afterSeq`, in seq order. */
  listDeadLetters(afterSeq: number, limit: number): Promise<DeadLetterRow[]>;
  /** Puts a dead letter back into the outbox (same seq and id) to be published again; false if unknown. */
  replayDeadLetter(id: string): Promise<boolean>;
  /** Deletes a dead letter for good (the rows behind it go on); false if unknown. */
  dropDeadLetter(id: string): Promise<boolean>;
  countDeadLetters(): Promise<number>;
}

/** Transactional ("half") messages; their writes go in WriteUnit.messageInserts/messageUpdates. */
export interface MessageStore {
  getMessage(id: string): Promise<MessageRecord | undefined>;
  /** The message with its payload; published_at from its delivery's outbox row (id `deliveryId`) while that row is kept. */
  viewMessage(id: string, deliveryId: string): Promise<MessageView | undefined>;
  /** Every message that still needs the coordinator: PREPARED (wake at next_check_at), or COMMITTED and not yet in the outbox (wake at deliver_at). */
  loadPendingMessages(visit: (id: string, wakeAt: number, state: MessageState) => void): Promise<number>;
  countPreparedMessages(): Promise<number>;
  /** Copies the sent time of up to `limit` published deliveries into their messages (the relay prunes sent outbox rows). */
  syncPublishedMessages(limit: number): Promise<void>;
  /** Deletes up to `limit` messages decided before `before` that need nothing more; about how many were deleted. */
  deleteMessagesDecidedBefore(before: number, limit: number): Promise<number>;
}

/** A saga taken over by this instance: its row (with the new epoch) and journal. */
export interface ClaimedSaga {
  readonly row: SagaRow;
  readonly events: JournalEvent[];
}

/**
 * Ownership of sagas on a store several coordinators share: each coordinator
 * is an instance holding a lease it renews; each active saga has an owner
 * instance and a fencing epoch. New sagas are owned by the instance that
 * inserted them, at FIRST_EPOCH.
 */
export interface SagaOwnership {
  /** This coordinator's instance id (a new one after its lease was lost). */
  instanceId(): string;
  /**
   * Takes over up to `limit` active sagas whose owner's lease expired (or that
   * have no owner), bumping their epoch, and loads them; their unsent outbox
   * rows move with them (this instance's relay publishes them before the
   * sagas' new events). Sagas locked by a write in progress are skipped (the
   * next claim gets them).
   */
  claimOrphans(limit: number, visit: (saga: ClaimedSaga) => void): Promise<number>;
  /**
   * Takes over up to `limit` transactional messages that still need a
   * coordinator (check-backs, deliveries) whose owner's lease expired, and
   * visits each with when it is due. Their writes are version-guarded, so a
   * late check-back of the old owner decides nothing twice.
   */
  claimMessages(limit: number, visit: (id: string, wakeAt: number, state: MessageState) => void): Promise<number>;
  /**
   * Takes over the unsent outbox rows expired instances left that no saga
   * claim moved (finished sagas' last events, message deliveries, alerts), a
   * batch at a time, whole ordering keys only; this instance's relay publishes
   * them. Returns the rows taken.
   */
  claimOrphanOutbox(limit: number): Promise<number>;
  /** Deletes the rows of instances expired long ago that own nothing any more; returns their ids. */
  pruneInstances(): Promise<string[]>;
  /**
   * Takes one saga over whatever its owner (an operator command sent here),
   * bumping its epoch, with its unsent outbox rows; undefined if unknown.
   */
  takeSaga(id: string): Promise<ClaimedSaga | undefined>;
  /**
   * Calls `listener` when a renewal found this instance's lease expired
   * (another instance may be taking its sagas over): drop them all. The store
   * then goes on under a new instance id.
   */
  onLeaseLost(listener: (err: Error) => void): void;
}

/** The epoch of a new saga on a shared store. */
export const FIRST_EPOCH = 1;

/** Everything a backend implements. */
export interface Store extends UnitCommitter, SagaStore, JournalStore, OutboxStore, DeadLetterStore, MessageStore, MessageListReads {
  open(): Promise<void>;
  /** Waits for queued writes, then closes. */
  close(): Promise<void>;
  /** Age in ms of the oldest write not yet committed (0 when none): a stalled log shows here (admission control's signal). */
  oldestPendingCommitMs(): number;
  /**
   * Calls `listener` (at once if it has) when a write failed for a reason
   * other than one unit's own: the store is latched failed, writes nothing
   * more and refuses every write with UNAVAILABLE. The process should exit 1.
   */
  onFailed(listener: (err: Error) => void): void;
  /** Present on a store several coordinators share (PostgreSQL); absent = this coordinator is the only writer. */
  readonly ownership?: SagaOwnership;
}
