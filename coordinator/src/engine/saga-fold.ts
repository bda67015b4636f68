// A saga rebuilt from its stored row and journal, and how its state reads as an outcome.

import type { SagaOutcome, SagaState } from '../domain/saga-types.js';
import type { SagaRow } from '../store/store.js';
import { compactDefinition } from './compact-definition.js';
import type { JournalEvent } from '../domain/journal-event.js';
import { applyEvent, SagaRuntime } from './saga-runtime.js';
import { restoreTcc } from './tcc-runtime.js';
import { copySummary } from './transaction-summary.js';

/** Folds a stored saga; `keepAttempts` builds a view (GetSaga) rather than a live saga. */
export function runtimeFromRow(row: SagaRow, events: readonly JournalEvent[], keepAttempts: boolean): SagaRuntime {
  const saga = new SagaRuntime(
    {
      key: row.key,
      id: row.id,
      // A live saga (not a view) is held in memory: its shared parts interned.
      definition: keepAttempts ? row.definition : compactDefinition(row.definition),
      createdAt: row.createdAt,
      deadlineAt: row.deadlineAt,
      definitionHash: row.definitionHash,
    },
    keepAttempts,
  );
  for (const e of events) applyEvent(saga, e);
  saga.epoch = row.epoch ?? 0;
  return saga;
}

export function isActive(state: SagaState): boolean {
  return state === 'RUNNING' || state === 'COMPENSATING';
}

export function outcomeOf(state: SagaState): SagaOutcome {
  switch (state) {
    case 'COMPLETED':
    case 'COMPENSATED':
    case 'MANUAL':
    case 'RESOLVED':
      return state;
    default:
      return 'STILL_RUNNING';
  }
}

/**
 * Puts a live saga back as its log has it (`fresh`, folded from the log), in
 * place: calls in flight hold the same object and their results land on it.
 */
export function restoreFrom(saga: SagaRuntime, fresh: SagaRuntime): void {
  copySummary(saga, fresh);
  saga.forward = fresh.forward;
  saga.compensation = fresh.compensation;
  saga.compensationEpoch = fresh.compensationEpoch;
  saga.steps.forEach((step, i) => Object.assign(step, fresh.step(i)));
  if (saga.tcc !== undefined && fresh.tcc !== undefined) restoreTcc(saga.tcc, fresh.tcc);
}
