// The durable log behind the engine, backend-neutral: SQLite is the embedded
// default; a PostgreSQL store shared by several coordinators can implement the
// same interface (see README "Beyond one machine").
//
// Writes are units of work committed atomically and grouped: many sagas' units
// share one transaction and one fsync. A journal append carries its sequence
// number; (saga key, seq) is unique, so a second writer of the same saga fails
// its transaction instead of interleaving (optimistic concurrency on version).

import type { SagaDefinition, SagaState, SagaSummary, ListSagasFilter } from '../domain/saga-types.js';
import type { JournalEvent } from '../engine/journal-event.js';

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

export interface WriteUnit {
  readonly inserts?: readonly SagaInsert[];
  readonly journal?: readonly JournalAppend[];
  readonly updates?: readonly SagaUpdate[];
  readonly outbox?: readonly OutboxInsert[];
}

export interface ListSagasPage {
  readonly sagas: SagaSummary[];
  readonly nextPageToken: string;
}

export interface Store {
  open(): Promise<void>;
  /** Waits for queued writes, then closes. */
  close(): Promise<void>;
  /** A new unique saga key (valid after open). */
  nextSagaKey(): number;
  /** Resolves once the unit is durable (group-committed with others). */
  commit(unit: WriteUnit): Promise<void>;
  getSagaRow(id: string): Promise<SagaRow | undefined>;
  getJournal(key: number): Promise<JournalEvent[]>;
  /** Streams every saga in an active state with its journal, for recovery. */
  loadActiveSagas(visit: (row: SagaRow, events: JournalEvent[]) => void): Promise<number>;
  listSagas(filter: ListSagasFilter): Promise<ListSagasPage>;
  /** Deletes up to `limit` finished sagas (terminal states) that finished before `before`. */
  deleteFinishedBefore(before: number, limit: number): Promise<number>;
  /** Number of sagas per state (for gauges and alerts). */
  countByState(): Promise<Map<SagaState, number>>;
  /** Up to `limit` unsent outbox rows with seq > `afterSeq`, in seq (commit) order, skipping ordering keys held by a dead letter. */
  readPendingOutbox(afterSeq: number, limit: number): Promise<OutboxRow[]>;
  /** Marks outbox rows sent (their publication was acknowledged). */
  markOutboxSent(seqs: readonly number[], sentAt: number): Promise<void>;
  outboxBacklog(): Promise<OutboxBacklog>;
  /** Deletes up to `limit` rows sent before `sentBefore` (found by when they were sent, not by walking from the oldest). */
  deleteSentOutbox(sentBefore: number, limit: number): Promise<number>;
  /** Deletes the `count` oldest unsent rows whose subject starts with one of `subjectPrefixes`. */
  dropOldestUnsentOutbox(count: number, subjectPrefixes: readonly string[]): Promise<number>;
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
