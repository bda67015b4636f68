// The store write that makes a batch of a saga's events durable: journal rows,
// the saga row's new state when it changed, and the outbox rows they publish.

import type { JournalAppend, OutboxInsert, WriteUnit } from '../store/store.js';
import type { EngineHooks } from './engine-hooks.js';
import type { JournalEvent } from '../domain/journal-event.js';
import type { SagaRuntime } from './saga-runtime.js';

/** The row that creates a saga, written with its first events. */
export type SagaInsert = NonNullable<WriteUnit['inserts']>[number];

/** Builds the write of `events`, already applied to `saga` (its version counts them). */
export function buildWriteUnit(
  saga: SagaRuntime,
  events: readonly JournalEvent[],
  hooks: EngineHooks,
  insert: SagaInsert | undefined,
): WriteUnit {
  const first = saga.version - events.length + 1;
  const journal: JournalAppend[] = events.map((event, i) => ({ key: saga.key, seq: first + i, event }));
  const changesState = events.some((e) => e.t === 'compensate' || e.t === 'phase' || e.t === 'finish' || e.t === 'retry' || e.t === 'resolve');
  // In event order, so that a saga's events are published in the order they happened.
  const outbox: OutboxInsert[] = [];
  for (const e of events) {
    if ((e.t === 'finish' || e.t === 'resolve') && hooks.outcomeEvents !== undefined) outbox.push(...hooks.outcomeEvents(saga, e));
    if ((e.t === 'dispatch' || e.t === 'result') && hooks.stepEvents !== undefined) outbox.push(...hooks.stepEvents(saga, e));
  }
  return {
    // A new saga's insert fences itself (its id and key are unique); later writes check the epoch it is held under.
    fence: insert === undefined && saga.epoch > 0 ? { key: saga.key, epoch: saga.epoch } : undefined,
    inserts: insert === undefined ? undefined : [insert],
    journal,
    updates: changesState
      ? [
          {
            key: saga.key,
            state: saga.state,
            updatedAt: saga.updatedAt,
            finishedAt: saga.finishedAt,
            failedStep: saga.failedStep,
            reason: saga.reason,
            note: saga.note,
            version: saga.version,
          },
        ]
      : undefined,
    outbox: outbox.length > 0 ? outbox : undefined,
  };
}
