// The check-back pump's queue: FIFO without duplicates, an id that is running
// deferred until its run finishes, nothing lost or repeated over a large set, and clear().

import { describe, expect, it } from 'vitest';
import { DueQueue } from './due-queue.js';

describe('DueQueue', () => {
  it('hands out ids oldest first, once each, however often they were added', () => {
    const q = new DueQueue();
    for (const id of ['a', 'b', 'a', 'c', 'b']) q.add(id);
    const none = (): boolean => false;
    expect([q.take(none), q.take(none), q.take(none), q.take(none)]).toEqual(['a', 'b', 'c', undefined]);
    expect(q.size).toBe(0);
  });

  it('defers an id whose run is in progress and queues it again when that run finishes', () => {
    const q = new DueQueue();
    const running = new Set(['a']);
    q.add('a');
    q.add('b');
    expect(q.take((id) => running.has(id))).toBe('b');
    expect(q.take((id) => running.has(id))).toBeUndefined();
    expect(q.size).toBe(1);
    running.delete('a');
    q.finished('b'); // not deferred: nothing queued again
    expect(q.size).toBe(1);
    q.finished('a');
    expect(q.take((id) => running.has(id))).toBe('a');
    expect(q.size).toBe(0);
  });

  it('drains a large due set with one slot, in order, each id once', () => {
    const q = new DueQueue();
    const ids = Array.from({ length: 50_000 }, (_, i) => `m${i}`);
    for (const id of ids) q.add(id);
    const out: string[] = [];
    for (let id = q.take(() => false); id !== undefined; id = q.take(() => false)) {
      out.push(id);
      q.finished(id);
    }
    expect(out).toEqual(ids);
  });

  it('forgets every waiting and deferred id on clear', () => {
    const q = new DueQueue();
    const running = new Set(['a']);
    q.add('a');
    q.add('b');
    expect(q.take((id) => running.has(id))).toBe('b');
    q.clear();
    q.finished('a');
    expect(q.size).toBe(0);
    expect(q.take(() => false)).toBeUndefined();
  });
});
