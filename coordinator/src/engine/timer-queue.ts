// One wake-up time per key (saga), kept in a binary min-heap and served by a
// single armed timer: 100,000 sagas waiting out a backoff cost one heap entry
// each, not one Node timer each.

import type { Clock } from './clock.js';

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
  key: string;
  token: number;
}

export class TimerQueue {
  private readonly heap: Entry[] = [];
  /** Current token per key; heap entries with another token are stale. */
  private readonly current = new Map<string, number>();
  private nextToken = 1;
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
    const token = this.nextToken++;
    this.current.set(key, token);
    this.push({ at, key, token });
    if (at < this.armedAt) this.arm();
  }

  cancel(key: string): void {
    this.current.delete(key);
  }

  get size(): number {
    return this.current.size;
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
      this.pop();
      if (this.current.get(top.key) === top.token) {
        this.current.delete(top.key);
        due.push(top.key);
      }
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

  private push(e: Entry): void {
    const h = this.heap;
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const parent = h[p] as Entry;
      if (parent.at <= e.at) break;
      h[i] = parent;
      i = p;
    }
    h[i] = e;
  }

  private pop(): void {
    const h = this.heap;
    const last = h.pop();
    if (last === undefined || h.length === 0) return;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= h.length) break;
      const r = l + 1;
      const c = r < h.length && (h[r] as Entry).at < (h[l] as Entry).at ? r : l;
      if ((h[c] as Entry).at >= last.at) break;
      h[i] = h[c] as Entry;
      i = c;
    }
    h[i] = last;
  }
}
