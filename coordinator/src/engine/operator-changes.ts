// What RetrySaga and ResolveSaga change, the same for sagas and TCC
// transactions (saga-runtime.ts and tcc-runtime.ts both fold them so).

import type { ResolveEvent } from '../domain/journal-event.js';
import type { SagaState, StepStatus } from '../domain/saga-types.js';

interface Closable {
  state: SagaState;
  note: string;
  finishedAt: number | undefined;
}

/** ResolveSaga: a human closed the MANUAL transaction with a note. */
export function applyResolve(target: Closable, e: ResolveEvent): void {
  target.state = 'RESOLVED';
  target.note = e.note;
  target.finishedAt = e.at;
}

/** RetrySaga: the transaction is active again, in `state`. */
export function reopen(target: Closable, state: Extract<SagaState, 'RUNNING' | 'COMPENSATING'>): void {
  target.state = state;
  target.finishedAt = undefined;
}

/** Whether RetrySaga drives an operation in this status again (with a fresh budget): it has not succeeded nor been skipped. */
export function retriedAgain(status: StepStatus): boolean {
  return status === 'FAILED' || status === 'PENDING' || status === 'RUNNING';
}
