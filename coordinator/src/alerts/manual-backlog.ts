// How many sagas wait in MANUAL: counted once from the store at start, then
// kept up to date from committed events (+1 when a saga finishes MANUAL, -1
// when an operator retries or resolves it), so gauges and the alert rule never
// scan the sagas table. MANUAL sagas are never deleted by retention.

import type { JournalEvent } from '../domain/journal-event.js';
import type { Store } from '../store/store.js';

export class ManualBacklog {
  private count = 0;

  /** Reads the starting count; call before the engine writes anything. */
  async load(store: Store): Promise<void> {
    this.count = (await store.countByState()).get('MANUAL') ?? 0;
  }

  observe(events: readonly JournalEvent[]): void {
    for (const e of events) {
      if (e.t === 'finish' && e.state === 'MANUAL') this.count += 1;
      // Only a MANUAL saga can be retried or resolved.
      else if (e.t === 'retry' || e.t === 'resolve') this.count = Math.max(0, this.count - 1);
    }
  }

  current(): number {
    return this.count;
  }
}
