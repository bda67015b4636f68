import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RandomPool } from './random-pool.js';

/** A fill that writes a counting sequence, so every byte handed out says where in the stream it came from. */
function countingFill(): { fill: (into: Buffer) => void; fills: () => number } {
  let next = 0;
  let fills = 0;
  return {
    fill: (into) => {
      fills++;
      for (let i = 0; i < into.length; i++) into[i] = next++ % 256;
    },
    fills: () => fills,
  };
}

describe('RandomPool', () => {
  it('hands out each filled byte at most once, in order, refilling only when the block cannot cover a draw', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 64 }), fc.array(fc.integer({ min: 1, max: 64 }), { maxLength: 200 }), (block, sizes) => {
        const draws = sizes.filter((n) => n <= block);
        const src = countingFill();
        const pool = new RandomPool(block, src.fill);
        let fills = 0;
        let used = block;
        for (const n of draws) {
          if (used + n > block) {
            fills++;
            used = 0;
          }
          const got = pool.take(n);
          expect(got.length).toBe(n);
          // The stream position of the draw's first byte: the bytes skipped at a refill are never handed out.
          expect([...got]).toEqual(Array.from({ length: n }, (_, i) => ((fills - 1) * block + used + i) % 256));
          used += n;
        }
        expect(src.fills()).toBe(fills);
      }),
    );
  });

  it('gives copies: changing what take() returned does not change later draws', () => {
    const src = countingFill();
    const pool = new RandomPool(16, src.fill);
    const a = pool.take(4);
    a.fill(0xff);
    expect([...pool.take(4)]).toEqual([4, 5, 6, 7]);
    expect(pool.hex(2)).toBe('0809');
  });

  it('draws from the CSPRNG by default: distinct span-sized ids', () => {
    const pool = new RandomPool();
    const ids = new Set(Array.from({ length: 2000 }, () => pool.hex(8)));
    expect(ids.size).toBe(2000);
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{16}$/);
  });

  it('refuses sizes it cannot serve', () => {
    expect(() => new RandomPool(0)).toThrow(RangeError);
    const pool = new RandomPool(8);
    expect(() => pool.take(9)).toThrow(/n must be an integer in \[1, 8\]/);
    expect(() => pool.take(0)).toThrow(RangeError);
    expect(() => pool.hex(1.5)).toThrow(RangeError);
  });
});
