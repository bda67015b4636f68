import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ChurnTable } from './churn-table.js';

describe('ChurnTable', () => {
  it('holds keys a plain object would confuse with its prototype or with each other', () => {
    const t = new ChurnTable<string, number>();
    for (const [i, key] of ['__proto__', 'constructor', 'toString', 'hasOwnProperty', '', '0', '01', '1e3', '-1'].entries()) {
      expect(t.has(key)).toBe(false);
      expect(t.get(key)).toBeUndefined();
      t.set(key, i);
      expect(t.get(key)).toBe(i);
    }
    expect(t.size).toBe(9);
    expect(t.get('1')).toBeUndefined(); // '01' and '1e3' are not the index 1
    expect(t.delete('__proto__')).toBe(true);
    expect(t.delete('__proto__')).toBe(false);
    expect(t.has('__proto__')).toBe(false);
    expect(t.size).toBe(8);
  });

  it('setting an existing key replaces its value without growing the size; clear empties it', () => {
    const t = new ChurnTable<number, string>();
    t.set(7, 'a').set(7, 'b');
    expect(t.size).toBe(1);
    expect(t.get(7)).toBe('b');
    t.clear();
    expect(t.size).toBe(0);
    expect(t.values()).toEqual([]);
  });

  it('values() is a snapshot: deleting while walking it visits every value once', () => {
    const t = new ChurnTable<number, number>();
    for (let i = 0; i < 100; i++) t.set(i, i);
    const seen: number[] = [];
    for (const v of t.values()) {
      seen.push(v);
      t.delete(v);
    }
    expect(seen.sort((a, b) => a - b)).toEqual([...Array(100).keys()]);
    expect(t.size).toBe(0);
  });

  it('behaves as a Map under any sequence of set, delete and clear (property)', () => {
    const key = fc.oneof(fc.string({ maxLength: 4 }), fc.constantFrom('__proto__', 'constructor', '0', '1'), fc.nat(50).map(String));
    const op = fc.oneof(
      fc.record({ t: fc.constant('set' as const), k: key, v: fc.integer() }),
      fc.record({ t: fc.constant('delete' as const), k: key }),
      fc.record({ t: fc.constant('clear' as const) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 200 }), (ops) => {
        const model = new Map<string, number>();
        const t = new ChurnTable<string, number>();
        for (const o of ops) {
          if (o.t === 'set') {
            model.set(o.k, o.v);
            t.set(o.k, o.v);
          } else if (o.t === 'delete') {
            expect(t.delete(o.k)).toBe(model.delete(o.k));
          } else {
            model.clear();
            t.clear();
          }
          expect(t.size).toBe(model.size);
        }
        for (const [k, v] of model) {
          expect(t.has(k)).toBe(true);
          expect(t.get(k)).toBe(v);
        }
        expect([...t.values()].sort()).toEqual([...model.values()].sort());
        expect([...t.keys()].sort()).toEqual([...model.keys()].sort());
      }),
    );
  });
});
