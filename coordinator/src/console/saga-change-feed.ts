// Tells the console's live streams about every committed change of any saga.
// Fed from the engine's onCommitted hook; costs one size check per commit
// while nobody watches.

import type { SagaState } from '../domain/saga-types.js';

/** What the console needs of a saga as committed (the engine's runtime has these fields). */
export interface CommittedSaga {
  readonly id: string;
  readonly state: SagaState;
  readonly version: number;
  readonly updatedAt: number;
  readonly definition: { readonly name: string };
}

export interface SagaChange {
  readonly sagaId: string;
  readonly name: string;
  readonly state: SagaState;
  readonly version: number;
  readonly updatedAt: number;
}

type ChangeListener = (change: SagaChange) => void;

export class SagaChangeFeed {
  private readonly listeners = new Set<ChangeListener>();

  /** Wraps an onCommitted hook so that it also feeds this. */
  observing<S extends CommittedSaga, E>(next: ((saga: S, events: E) => void) | undefined): (saga: S, events: E) => void {
    return (saga, events) => {
      next?.(saga, events);
      this.publish(saga);
    };
  }

  publish(saga: CommittedSaga): void {
    if (this.listeners.size === 0) return;
    const change: SagaChange = { sagaId: saga.id, name: saga.definition.name, state: saga.state, version: saga.version, updatedAt: saga.updatedAt };
    for (const l of this.listeners) l(change);
  }

  /** Returns the unsubscribe function. */
  subscribe(listener: ChangeListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
