// Which active sagas are held in memory and which are parked: evicted while
// they only wait for their timer, and reloaded from the log when it fires or a
// command needs them.

import type { Logger } from 'pino';
import type { SagaRow, Store } from '../store/store.js';
import { isActive, runtimeFromRow } from './saga-fold.js';
import type { SagaRuntime } from './saga-runtime.js';
import { ChurnTable } from '../util/churn-table.js';

export class SagaParking {
  /** Sagas in RUNNING or COMPENSATING held in memory, by id. */
  readonly active = new ChurnTable<string, SagaRuntime>();
  /**
   * Active sagas evicted while they wait out a backoff: id → saga name. Their
   * timer stays in the queue; the log holds everything else.
   */
  private readonly parked = new Map<string, string>();
  /** Parked sagas being reloaded, so that concurrent wake-ups share one load. */
  private readonly hydrating = new Map<string, Promise<SagaRuntime | undefined>>();
  private settled = 0;

  constructor(
    private readonly store: Store,
    private readonly log: Logger,
    /** Drops the timer of a parked saga found no longer active in the log. */
    private readonly dropTimer: (id: string) => void,
    /** On a shared store: whether this instance still owns the saga of `row` (else it was taken over while parked). */
    private readonly owns: (row: SagaRow) => boolean = () => true,
  ) {}

  /** Sagas RUNNING or COMPENSATING, in memory or parked. */
  activeCount(): number {
    return this.active.size + this.parked.size;
  }

  parkedCount(): number {
    return this.parked.size;
  }

  /** How many times a saga left memory (finished or parked) since start: a monotonic count. */
  settledCount(): number {
    return this.settled;
  }

  isParked(id: string): boolean {
    return this.parked.has(id);
  }

  /** The name of an active saga, in memory or parked. */
  nameOf(id: string): string | undefined {
    return this.active.get(id)?.definition.name ?? this.parked.get(id);
  }

  /** Forgets a saga (another instance took it over): no longer in memory, nor parked. */
  forget(saga: SagaRuntime): void {
    this.parked.delete(saga.id);
    if (this.active.get(saga.id) === saga) this.active.delete(saga.id);
  }

  /** Forgets every parked saga; returns their ids. */
  forgetParked(): string[] {
    const ids = [...this.parked.keys()];
    this.parked.clear();
    return ids;
  }

  /** Holds `saga` in memory (claimed from another instance), replacing a parked entry. */
  adopt(saga: SagaRuntime): void {
    this.parked.delete(saga.id);
    this.active.set(saga.id, saga);
  }

  /** A saga that left the active states leaves memory. */
  finished(saga: SagaRuntime): void {
    if (this.active.get(saga.id) === saga) {
      this.active.delete(saga.id);
      this.settled += 1;
    }
  }

  /**
   * Drops a saga that only waits for its timer from memory: no call in flight,
   * no write pending, no command running (`busy`). Everything it holds is in the log.
   */
  parkIfIdle(saga: SagaRuntime, busy: boolean): void {
    if (busy || saga.writing > 0 || !saga.isActive() || this.active.get(saga.id) !== saga) return;
    for (const step of saga.steps) if (step.inFlight !== undefined) return;
    this.active.delete(saga.id);
    this.parked.set(saga.id, saga.definition.name);
    this.settled += 1;
  }

  /** The in-memory saga, reloading it from the log if it is parked; undefined if not active. */
  live(id: string): Promise<SagaRuntime | undefined> {
    const saga = this.active.get(id);
    if (saga !== undefined || !this.parked.has(id)) return Promise.resolve(saga);
    let loading = this.hydrating.get(id);
    if (loading === undefined) {
      loading = this.hydrate(id).finally(() => this.hydrating.delete(id));
      this.hydrating.set(id, loading);
    }
    return loading;
  }

  private async hydrate(id: string): Promise<SagaRuntime | undefined> {
    const row = await this.store.getSagaRow(id);
    const events = row === undefined ? [] : await this.store.getJournal(row.key);
    if (!this.parked.has(id)) return this.active.get(id);
    this.parked.delete(id);
    if (row === undefined || !isActive(row.state)) {
      // Parked sagas are evicted only with every change durable; this is a bug or a repaired database.
      this.log.error({ sagaId: id, state: row?.state }, 'a parked saga is no longer active in the log; dropping its timer');
      this.dropTimer(id);
      return undefined;
    }
    if (!this.owns(row)) {
      this.log.warn({ sagaId: id, owner: row.owner }, 'a parked saga was taken over by another instance; dropping it here');
      this.dropTimer(id);
      return undefined;
    }
    const saga = runtimeFromRow(row, events, false);
    this.active.set(id, saga);
    return saga;
  }
}
