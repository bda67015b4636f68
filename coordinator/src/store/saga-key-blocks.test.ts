// Saga keys from durably reserved blocks, over a scripted reservation: keys
// are unique and in order across blocks, the next block is reserved ahead, and
// a failed reservation fails only the call that needed it.

import { describe, expect, it } from 'vitest';
import { SagaKeyBlocks } from './saga-key-blocks.js';

/** A counter like the store's: each reservation moves it on by `count`. */
function counter(): { reserve: (count: number) => Promise<number>; calls: number[]; failNext: () => void } {
  let last = 0;
  let fail = false;
  const calls: number[] = [];
  return {
    calls,
    failNext: () => (fail = true),
    reserve: (count) => {
      calls.push(count);
      if (fail) {
        fail = false;
        return Promise.reject(new Error('store unavailable'));
      }
      last += count;
      return Promise.resolve(last - count + 1);
    },
  };
}

describe('SagaKeyBlocks', () => {
  it('hands out unique increasing keys across blocks, to concurrent callers too', async () => {
    const c = counter();
    const keys = new SagaKeyBlocks({ reserve: c.reserve, blockSize: 4 });
    const got = await Promise.all(Array.from({ length: 19 }, () => keys.next()));
    expect(new Set(got).size).toBe(19);
    const sequential: number[] = [];
    for (let i = 0; i < 10; i++) sequential.push(await keys.next());
    expect([...sequential].sort((a, b) => a - b)).toEqual(sequential);
    expect(Math.min(...sequential)).toBeGreaterThan(Math.max(...got));
    await keys.idle();
  });

  it('reserves the next block while half of the current one is left', async () => {
    const c = counter();
    const keys = new SagaKeyBlocks({ reserve: c.reserve, blockSize: 10 });
    await keys.next();
    expect(c.calls).toHaveLength(1);
    for (let i = 0; i < 4; i++) await keys.next();
    await keys.idle();
    expect(c.calls).toHaveLength(2);
    // The spare block is used without another wait; no third reservation yet.
    for (let i = 0; i < 5; i++) await keys.next();
    expect(c.calls).toHaveLength(2);
  });

  it('fails the call that needs a block when the reservation fails, and reserves again on the next', async () => {
    const c = counter();
    const keys = new SagaKeyBlocks({ reserve: c.reserve, blockSize: 2 });
    c.failNext();
    await expect(keys.next()).rejects.toThrow('store unavailable');
    expect(await keys.next()).toBe(1);
  });
});
