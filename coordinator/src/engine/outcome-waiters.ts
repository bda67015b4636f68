// Callers waiting on a saga: subscribers told after every durable change, and
// waits for an outcome bounded by a timeout and an AbortSignal.

import type { SagaState } from '../domain/saga-types.js';
import { isActive } from './saga-fold.js';
import type { SagaRuntime } from './saga-runtime.js';
import { ChurnTable } from '../util/churn-table.js';

/** Called after every durable change of a saga, with the saga as committed. */
export type Listener = (saga: SagaRuntime) => void;

export class OutcomeWaiters {
  private readonly listeners = new ChurnTable<string, Set<Listener>>();

  /**
   * `pollMs`: on a store several coordinators share, a saga may change on
   * another instance (which tells no listener here): waits then also read the
   * saga's state every `pollMs`. Undefined = only this instance's commits.
   */
  constructor(private readonly pollMs?: number) {}

  /**
   * Calls `onChange` after every durable change of the saga here and, on a
   * shared store, every `pollMs` (the caller reads the saga and skips what it
   * has seen). Returns the unsubscribe function.
   */
  watch(id: string, onChange: () => void): () => void {
    const unsubscribe = this.subscribe(id, () => onChange());
    if (this.pollMs === undefined) return unsubscribe;
    const poll = setInterval(onChange, this.pollMs);
    return () => {
      clearInterval(poll);
      unsubscribe();
    };
  }

  /** Calls `listener` after every durable change of the saga. Returns the unsubscribe function. */
  subscribe(id: string, listener: Listener): () => void {
    let set = this.listeners.get(id);
    if (set === undefined) {
      set = new Set();
      this.listeners.set(id, set);
    }
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0) this.listeners.delete(id);
    };
  }

  /** Tells the saga's subscribers about a change just committed. */
  notify(saga: SagaRuntime): void {
    const listeners = this.listeners.get(saga.id);
    if (listeners !== undefined) for (const l of [...listeners]) l(saga);
  }

  /**
   * Waits until the saga reaches an outcome or `timeoutMs` passes. Answers with
   * the saga itself when its outcome was seen committed here (no read of the
   * store), else with the state `current` read.
   */
  async awaitOutcome(
    id: string,
    timeoutMs: number,
    current: () => Promise<SagaState>,
    signal?: AbortSignal,
  ): Promise<SagaState | SagaRuntime> {
    const first = await current();
    if (!isActive(first) || timeoutMs <= 0) return first;
    return new Promise<SagaState | SagaRuntime>((resolve) => {
      let done = false;
      const finish = (state: SagaState | SagaRuntime): void => {
        if (done) return;
        done = true;
        unsubscribe();
        clearTimeout(timer);
        if (poll !== undefined) clearInterval(poll);
        signal?.removeEventListener('abort', onAbort);
        resolve(state);
      };
      // The committed saga says whether this change was its outcome. With another
      // write of it still pending, memory is ahead of the log (two results of
      // parallel calls): its outcome counts once that write is durable too.
      const unsubscribe = this.subscribe(id, (saga) => {
        if (!saga.isActive() && saga.writing === 0) finish(saga);
      });
      const timer = setTimeout(() => void current().then(finish, () => finish(first)), timeoutMs);
      // Changes made by another instance: read the state now and then.
      const poll =
        this.pollMs === undefined
          ? undefined
          : setInterval(() => {
              void current().then((s) => {
                if (!isActive(s)) finish(s);
              }, () => undefined);
            }, this.pollMs);
      const onAbort = (): void => finish(first);
      signal?.addEventListener('abort', onAbort, { once: true });
      // The saga may have finished between the first read and the subscription.
      void current().then((s) => {
        if (!isActive(s)) finish(s);
      }, () => undefined);
    });
  }
}
