// One wake-up time per key (saga), kept in an indexed binary min-heap and
// served by a single armed timer: 100,000 sagas waiting out a backoff cost one
// heap entry each, not one Node timer each. Each entry knows its heap slot, so
// replacing or cancelling a key's wake-up moves or removes its one entry: a
// saga that commits often holds one entry, not one per commit.

import type { Clock } from './clock.js';
import { ChurnTable } from '../util/churn-table.js';

export interface TimerHost {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

// Node fires a setTimeout longer than 2^31-1 ms after 1 ms; a far wake-up
// (a 30-day deadline) arms the longest allowed timer and re-arms when it fires.
const MAX_TIMER_MS = 2 ** 31 - 1;

const nodeTimers: TimerHost = {
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, Math.min(ms, MAX_TIMER_MS));
    t.unref();
    return t;
  },
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

interface Entry {
  at: number;
  readonly key: string;
  /** Its slot in the heap array. */
  index: number;
}

export class TimerQueue {
  private readonly heap: Entry[] = [];
  private readonly entries = new ChurnTable<string, Entry>();
  private armed: unknown;
  private armedAt = Infinity;
  private stopped = false;

  constructor(
    private readonly clock: Clock,
    private readonly onDue: (key: string) => void,
    private readonly host: TimerHost = nodeTimers,
  ) {}

  /** Sets (or replaces) the wake-up of `key`. */
  set(key: string, at: number): void {
    const entry = this.entries.get(key);
    if (entry === undefined) {
      const e: Entry = { at, key, index: this.heap.length };
      this.entries.set(key, e);
      this.heap.push(e);
      this.up(e.index);
    } else if (entry.at !== at) {
      const earlier = at < entry.at;
      entry.at = at;
      if (earlier) this.up(entry.index);
      else this.down(entry.index);
    }
    if (at < this.armedAt) this.arm();
  }

  cancel(key: string): void {
    const entry = this.entries.get(key);
    if (entry === undefined) return;
    this.entries.delete(key);
    this.removeAt(entry.index);
  }

  get size(): number {
    return this.entries.size;
  }

  /** Heap entries held: equal to `size` (one per key). */
  get entryCount(): number {
    return this.heap.length;
  }

  /** Cancels every wake-up (the queue stays usable). */
  clear(): void {
    this.entries.clear();
    this.heap.length = 0;
    if (this.armed !== undefined) this.host.clearTimeout(this.armed);
    this.armed = undefined;
    this.armedAt = Infinity;
  }

  stop(): void {
    this.stopped = true;
    if (this.armed !== undefined) this.host.clearTimeout(this.armed);
    this.armed = undefined;
  }

  /** Fires every entry due by now. Exposed for tests driving a fake clock. */
  fireDue(): void {
    const now = this.clock.now();
    const due: string[] = [];
    for (let top = this.heap[0]; top !== undefined && top.at <= now; top = this.heap[0]) {
      this.entries.delete(top.key);
      this.removeAt(0);
      due.push(top.key);
    }
    for (const key of due) this.onDue(key);
  }

  private arm(): void {
    if (this.stopped) return;
    if (this.armed !== undefined) this.host.clearTimeout(this.armed);
    const top = this.heap[0];
    if (top === undefined) {
      this.armed = undefined;
      this.armedAt = Infinity;
      return;
    }
    this.armedAt = top.at;
    this.armed = this.host.setTimeout(() => {
      this.armed = undefined;
      this.armedAt = Infinity;
      this.fireDue();
      this.arm();
    }, Math.max(0, top.at - this.clock.now()));
  }

  private removeAt(i: number): void {
    const h = this.heap;
    const last = h.pop() as Entry;
    if (i === h.length) return;
    h[i] = last;
    last.index = i;
    this.up(i);
    this.down(last.index);
  }

  private up(i: number): void {
    const h = this.heap;
    const e = h[i] as Entry;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const parent = h[p] as Entry;
      if (parent.at <= e.at) break;
      h[i] = parent;
      parent.index = i;
      i = p;
    }
    h[i] = e;
    e.index = i;
  }

  private down(i: number): void {
    const h = this.heap;
    const e = h[i] as Entry;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= h.length) break;
      const r = l + 1;
      const c = r < h.length && (h[r] as Entry).at < (h[l] as Entry).at ? r : l;
      const child = h[c] as Entry;
      if (child.at >= e.at) break;
      h[i] = child;
      child.index = i;
      i = c;
    }
    h[i] = e;
    e.index = i;
  }
}
