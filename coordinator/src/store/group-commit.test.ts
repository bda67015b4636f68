// Group commit with a scripted write and an injected clock: batching and order,
// the failure latch, isolation of a unit's own error, the byte bound, and the queueing-delay signal (onBatch, oldestWaitingMs).

import { describe, expect, it } from 'vitest';
import { GroupCommitter, StoreFailedError } from './group-commit.js';

interface Write {
  readonly units: readonly string[];
  readonly done: () => void;
  readonly fail: (err: Error) => void;
}

function setup(maxBatch = 256, onBatchThrows = false, onFailed?: (err: Error) => void) {
  const clock = { t: 1_000 };
  const writes: Write[] = [];
  const reported: [number, number][] = [];
  const gc = new GroupCommitter<string>({
    maxBatch,
    now: () => clock.t,
    write: (units) =>
      new Promise<void>((resolve, reject) => {
        writes.push({ units, done: resolve, fail: reject });
      }),
    onFailed,
    onBatch: (oldestWaitMs, units) => {
      reported.push([oldestWaitMs, units]);
      if (onBatchThrows) throw new Error('observer bug');
    },
  });
  return { gc, clock, writes, reported };
}

/** Yields to the event loop until `cond` holds (no timers: each turn is one setImmediate). */
async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 1000 && !cond(); i++) await new Promise<void>((r) => setImmediate(r));
  expect(cond()).toBe(true);
}

function settled(p: Promise<void>): { state: 'pending' | 'resolved' | 'rejected' } {
  const s = { state: 'pending' as 'pending' | 'resolved' | 'rejected' };
  p.then(
    () => (s.state = 'resolved'),
    () => (s.state = 'rejected'),
  );
  return s;
}

describe('GroupCommitter', () => {
  it('commits the units of one tick together, then those queued meanwhile, in order and within maxBatch', async () => {
    const { gc, writes } = setup(2);
    const a = settled(gc.commit('a'));
    const b = settled(gc.commit('b'));
    const c = settled(gc.commit('c'));
    await until(() => writes.length === 1);
    expect(writes[0]!.units).toEqual(['a', 'b']);
    const d = settled(gc.commit('d'));
    writes[0]!.done();
    await until(() => writes.length === 2);
    expect([a.state, b.state, c.state, d.state]).toEqual(['resolved', 'resolved', 'pending', 'pending']);
    expect(writes[1]!.units).toEqual(['c', 'd']);
    writes[1]!.done();
    await gc.idle();
    expect([c.state, d.state]).toEqual(['resolved', 'resolved']);
    expect(gc.stats()).toEqual({ batches: 2, units: 4, delayed: 0 });
  });

  it('latches failed at the first failed write: that batch, the queued units and every later commit are refused, nothing more is written', async () => {
    const failures: Error[] = [];
    const { gc, writes, reported } = setup(256, false, (err) => failures.push(err));
    const a = settled(gc.commit('a'));
    await until(() => writes.length === 1);
    const b = settled(gc.commit('b'));
    writes[0]!.fail(new Error('disk full'));
    await gc.idle();
    await expect(gc.commit('c')).rejects.toBeInstanceOf(StoreFailedError);
    await gc.idle();
    expect([a.state, b.state]).toEqual(['rejected', 'rejected']);
    expect(writes).toHaveLength(1);
    expect(failures.map((e) => e.message)).toEqual(['disk full']);
    expect(gc.failed()?.cause.message).toBe('disk full');
    expect(gc.failed()?.kind).toBe('UNAVAILABLE');
    expect(reported).toHaveLength(0);
  });

  it("isolates a unit that failed on its own: it gets its error, the others of its batch commit, the committer goes on", async () => {
    const failures: Error[] = [];
    const isolated: string[][] = [];
    const gc = new GroupCommitter<string>({
      maxBatch: 256,
      write: (units) => (units.includes('bad') ? Promise.reject(new Error('constraint')) : Promise.resolve()),
      isUnitError: (err) => err instanceof Error && err.message === 'constraint',
      writeIsolated: (units) => {
        isolated.push([...units]);
        return Promise.resolve(units.map((u) => (u === 'bad' ? new Error(`own error of ${u}`) : undefined)));
      },
      onFailed: (err) => failures.push(err),
    });
    const a = gc.commit('a');
    const bad = gc.commit('bad');
    const c = gc.commit('c');
    await expect(a).resolves.toBeUndefined();
    await expect(bad).rejects.toThrow('own error of bad');
    await expect(c).resolves.toBeUndefined();
    expect(isolated).toEqual([['a', 'bad', 'c']]);
    await expect(gc.commit('d')).resolves.toBeUndefined();
    expect(failures).toEqual([]);
    expect(gc.failed()).toBeUndefined();
  });

  it('bounds a batch by bytes as well as units; a unit larger than the bound is written alone', async () => {
    const writes: string[][] = [];
    const gc = new GroupCommitter<string>({
      maxBatch: 256,
      maxBatchBytes: 10,
      sizeOf: (u) => u.length,
      write: (units) => {
        writes.push([...units]);
        return Promise.resolve();
      },
    });
    await Promise.all(['aaaa', 'bbbb', 'cccc', 'dddddddddddddddd', 'e'].map((u) => gc.commit(u)));
    expect(writes).toEqual([['aaaa', 'bbbb'], ['cccc'], ['dddddddddddddddd'], ['e']]);
  });

  it("reports each batch's oldest unit wait, from commit() until its write resolved, and the batch size", async () => {
    const { gc, clock, writes, reported } = setup();
    const first = gc.commit('a');
    clock.t += 4;
    void gc.commit('b');
    await until(() => writes.length === 1);
    clock.t += 7; // the write takes 7 ms: a waited 11, b 7
    writes[0]!.done();
    await first;
    expect(reported).toEqual([[11, 2]]);
    // e is queued while the second batch (d) is written, so it waits behind it.
    void gc.commit('d');
    await until(() => writes.length === 2);
    clock.t += 3;
    void gc.commit('e');
    clock.t += 20;
    writes[1]!.done();
    await until(() => writes.length === 3);
    expect(reported).toEqual([
      [11, 2],
      [23, 1],
    ]);
    clock.t += 5;
    writes[2]!.done();
    await gc.idle();
    expect(reported[2]).toEqual([25, 1]);
  });

  it('shows the age of the oldest unit not yet committed, including one whose write is stalled', async () => {
    const { gc, clock, writes } = setup();
    expect(gc.oldestWaitingMs()).toBe(0);
    void gc.commit('a');
    clock.t += 2;
    expect(gc.oldestWaitingMs()).toBe(2);
    await until(() => writes.length === 1);
    clock.t += 1;
    void gc.commit('b'); // queued behind the write of a
    clock.t += 500; // the disk stalls
    expect(gc.oldestWaitingMs()).toBe(503);
    writes[0]!.done();
    await until(() => writes.length === 2);
    expect(gc.oldestWaitingMs()).toBe(500);
    writes[1]!.done();
    await gc.idle();
    expect(gc.oldestWaitingMs()).toBe(0);
  });

  it('never fails a durable batch, nor stops, because the observer throws', async () => {
    const { gc, writes, reported } = setup(256, true);
    const a = settled(gc.commit('a'));
    await until(() => writes.length === 1);
    writes[0]!.done();
    await gc.idle();
    const b = settled(gc.commit('b'));
    await until(() => writes.length === 2);
    writes[1]!.done();
    await gc.idle();
    expect([a.state, b.state]).toEqual(['resolved', 'resolved']);
    expect(reported).toHaveLength(2);
  });

  it('reports the write itself apart from the queueing before it (onBatch writeMs)', async () => {
    const clock = { t: 1_000 };
    const writes: Write[] = [];
    const reported: { oldest: number; writeMs: number }[] = [];
    const gc = new GroupCommitter<string>({
      maxBatch: 256,
      now: () => clock.t,
      write: (units) => new Promise<void>((resolve, reject) => writes.push({ units, done: resolve, fail: reject })),
      onBatch: (oldest, _units, _behind, writeMs) => reported.push({ oldest, writeMs }),
    });
    const a = gc.commit('a');
    await until(() => writes.length === 1);
    const b = gc.commit('b'); // queued while a's write is under way
    clock.t += 5;
    writes[0]!.done();
    await a;
    await until(() => writes.length === 2);
    clock.t += 3; // b waited 5 ms in the queue, then its own write took 3 ms
    writes[1]!.done();
    await b;
    await gc.idle();
    expect(reported).toEqual([
      { oldest: 5, writeMs: 5 },
      { oldest: 8, writeMs: 3 },
    ]);
  });

  it('releases a committed batch in slices, oldest first, one slice per event-loop turn, with the next write already under way', async () => {
    const clock = { t: 1_000 };
    const writes: Write[] = [];
    const waits: number[] = [];
    const behind: number[] = [];
    const gc = new GroupCommitter<string>({
      maxBatch: 256,
      releaseSlice: 2,
      now: () => clock.t,
      write: (units) => new Promise<void>((resolve, reject) => writes.push({ units, done: resolve, fail: reject })),
      onBatch: (_oldest, _units, leftBehind) => behind.push(leftBehind),
      onReleased: (ms) => waits.push(ms),
    });
    const states = Array.from({ length: 10 }, (_, i) => settled(gc.commit(`u${i}`)));
    const resolved = (): number => states.filter((x) => x.state === 'resolved').length;
    await until(() => writes.length === 1);
    expect(writes[0]!.units).toHaveLength(10);
    const f = settled(gc.commit('f')); // queued behind the write
    clock.t += 7;
    writes[0]!.done();
    // The test's turn was queued before the committer's next slice: only the first slice is out.
    await new Promise<void>((r) => setImmediate(r));
    expect(writes).toHaveLength(2); // the next write went out before the rest was released
    expect(states.map((x) => x.state).slice(0, 3)).toEqual(['resolved', 'resolved', 'pending']);
    expect(resolved()).toBe(2);
    await new Promise<void>((r) => setImmediate(r));
    expect(resolved()).toBe(4);
    writes[1]!.done();
    await gc.idle(); // idle() waits for the release too
    expect(resolved()).toBe(10);
    expect(f.state).toBe('resolved');
    expect(waits.slice(0, 10)).toEqual(Array(10).fill(7));
    expect(waits).toHaveLength(11);
    expect(behind).toEqual([0, 0]);
  });

  it('reports how many units a full batch left behind', async () => {
    const clock = { t: 0 };
    const writes: Write[] = [];
    const behind: number[] = [];
    const gc = new GroupCommitter<string>({
      maxBatch: 2,
      now: () => clock.t,
      write: (units) => new Promise<void>((resolve, reject) => writes.push({ units, done: resolve, fail: reject })),
      onBatch: (_oldest, _units, leftBehind) => behind.push(leftBehind),
    });
    for (const u of ['a', 'b', 'c', 'd', 'e']) void gc.commit(u);
    for (let i = 0; i < 3; i++) {
      await until(() => writes.length === i + 1);
      writes[i]!.done();
    }
    await gc.idle();
    expect(behind).toEqual([3, 1, 0]);
  });

  it('refuses a releaseSlice that is not a positive integer', () => {
    const write = (): Promise<void> => Promise.resolve();
    expect(() => new GroupCommitter<string>({ maxBatch: 1, releaseSlice: 0, write })).toThrow(/releaseSlice/);
    expect(() => new GroupCommitter<string>({ maxBatch: 1, releaseSlice: 1.5, write })).toThrow(/releaseSlice/);
  });

  describe('commit delay', () => {
    /** A committer with the delay, an injected clock and timers the test fires (each at most once). */
    function delayed(commitDelay: { ms: number; minExpectedUnits?: number; enoughUnits?: number }, maxBatch = 256) {
      const clock = { t: 1_000 };
      const writes: Write[] = [];
      const timers: { ms: number; fire: () => void; cancelled: boolean }[] = [];
      const gc = new GroupCommitter<string>({
        maxBatch,
        commitDelay,
        now: () => clock.t,
        setTimer: (fn, ms) => {
          let over = false;
          const t = {
            ms,
            fire: () => {
              if (over) return;
              over = true;
              fn();
            },
            cancelled: false,
          };
          timers.push(t);
          return () => {
            over = true;
            t.cancelled = true;
          };
        },
        write: (units) => new Promise<void>((resolve, reject) => writes.push({ units, done: resolve, fail: reject })),
      });
      let done = 0;
      /** Completes every write started so far, turn by turn, until all queued units are written; the number of writes done. */
      const settle = async (): Promise<number> => {
        for (let i = 0; i < 1000; i++) {
          while (done < writes.length) writes[done++]!.done();
          await new Promise<void>((r) => setImmediate(r));
          if (done === writes.length && gc.stats().units === writes.reduce((a, w) => a + w.units.length, 0)) break;
        }
        return done;
      };
      const firePending = (): void => {
        for (const t of timers) t.fire();
      };
      /** Commits `n` units `gapMs` apart on the clock, ending every wait and completing every write as it goes; the writes done. */
      const warmUp = async (n: number, gapMs: number): Promise<number> => {
        for (let i = 0; i < n; i++) {
          clock.t += gapMs;
          void gc.commit(`warm${i}`);
          if (i % 25 === 24) {
            firePending();
            await settle();
          }
        }
        firePending();
        await settle();
        firePending();
        return settle();
      };
      return { gc, clock, writes, timers, warmUp };
    }

    it('never waits after a lull: units arriving seconds apart are each written at once', async () => {
      const { gc, clock, writes, timers } = delayed({ ms: 1 });
      for (let i = 0; i < 5; i++) {
        clock.t += 2_000;
        void gc.commit(`u${i}`);
        await until(() => writes.length === i + 1);
        writes[i]!.done();
      }
      expect(timers).toHaveLength(0);
      expect(gc.stats().delayed).toBe(0);
    });

    it('waits for more units while they arrive faster than minExpectedUnits per delay, and takes those that came meanwhile', async () => {
      const { gc, clock, writes, timers, warmUp } = delayed({ ms: 1, minExpectedUnits: 2 });
      // 400 units 0.1 ms apart: the moving average of the gap falls from a lull's 1 s to about 0.1 ms.
      const done = await warmUp(400, 0.1);
      const armedBefore = timers.length;
      expect(armedBefore).toBeGreaterThan(0);
      // Now one unit: the batch is held for the delay instead of written at once.
      clock.t += 0.1;
      const first = settled(gc.commit('a'));
      await until(() => timers.length === armedBefore + 1);
      expect(timers.at(-1)!.ms).toBe(1);
      expect(writes).toHaveLength(done);
      clock.t += 0.1;
      const second = settled(gc.commit('b'));
      timers.at(-1)!.fire();
      await until(() => writes.length === done + 1);
      expect(writes[done]!.units).toEqual(['a', 'b']);
      writes[done]!.done();
      await until(() => first.state === 'resolved' && second.state === 'resolved');
    });

    it('ends the wait as soon as the queue holds enoughUnits, and cancels the timer', async () => {
      const { gc, clock, writes, timers, warmUp } = delayed({ ms: 5, minExpectedUnits: 1, enoughUnits: 4 });
      const done = await warmUp(300, 0.05);
      const armed = timers.length;
      for (const u of ['a', 'b', 'c']) {
        clock.t += 0.05;
        void gc.commit(u);
      }
      await until(() => timers.length === armed + 1);
      expect(writes).toHaveLength(done);
      clock.t += 0.05;
      void gc.commit('d'); // the fourth: enough
      await until(() => writes.length === done + 1);
      expect(writes[done]!.units).toEqual(['a', 'b', 'c', 'd']);
      expect(timers.at(-1)!.cancelled).toBe(true);
    });

    it('with ms 0 never arms a timer, however fast units arrive', async () => {
      const { gc, timers, warmUp } = delayed({ ms: 0 });
      await warmUp(300, 0.01);
      expect(timers).toHaveLength(0);
      expect(gc.stats()).toMatchObject({ units: 300, delayed: 0 });
    });

    it.each([
      [{ ms: -1 }, /commitDelay.ms/],
      [{ ms: Number.NaN }, /commitDelay.ms/],
      [{ ms: 1, minExpectedUnits: 0 }, /minExpectedUnits/],
      [{ ms: 1, enoughUnits: 0 }, /enoughUnits/],
      [{ ms: 1, enoughUnits: 2.5 }, /enoughUnits/],
    ])('refuses the commit delay %o', (commitDelay, message) => {
      const write = (): Promise<void> => Promise.resolve();
      expect(() => new GroupCommitter<string>({ maxBatch: 8, commitDelay, write })).toThrow(message);
    });
  });
});
