// What the engine lets the process around it observe and add: crash points for
// tests, the outbox rows of outcomes and step transitions, and committed changes.

import type { OutboxInsert } from '../store/store.js';
import type { DispatchEvent, FinishEvent, JournalEvent, ResolveEvent, ResultEvent } from '../domain/journal-event.js';
import type { SagaRuntime } from './saga-runtime.js';

/** Named instants at which a test can make the process die (kill -9 semantics). */
export type CrashPoint = 'after-dispatch-commit' | 'before-result-commit' | 'after-outbox-publish';

export interface EngineHooks {
  /** Called at crash points; a test build kills the process here. */
  readonly crashPoint?: (point: CrashPoint, sagaId: string, step: string, operation: string) => void;
  /** Builds the outbox rows describing a saga outcome (COMPLETED, COMPENSATED, MANUAL, RESOLVED). */
  readonly outcomeEvents?: (saga: SagaRuntime, event: FinishEvent | ResolveEvent) => OutboxInsert[];
  /** Builds the outbox rows describing a step transition (opt-in step events). */
  readonly stepEvents?: (saga: SagaRuntime, event: DispatchEvent | ResultEvent) => OutboxInsert[];
  /** Observes every committed change (metrics, alerts). */
  readonly onCommitted?: (saga: SagaRuntime, events: readonly JournalEvent[]) => void;
}
