// The writer thread's batch encoding: every kind of SQL parameter and every
// part of a unit comes back as it went in (table-driven and as a property),
// blobs come back as views of the one transferred buffer, a reused encoder
// grows past its first buffer, and a malformed batch is refused, not guessed.

import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { SqlParam } from './sqlite-connection.js';
import type { EncodedUnit } from './sqlite-unit-writer.js';
import { UnitBatchEncoder, decodeUnitBatch } from './unit-batch-codec.js';

const unit = (rows: Partial<EncodedUnit>): EncodedUnit => ({ inserts: [], journal: [], updates: [], outbox: [], statements: [], purge: [], reservations: [], bytes: 0, ...rows });

/** The unit as plain values (Buffers as byte arrays), to compare what was encoded with what was decoded. */
const plain = (u: EncodedUnit): unknown =>
  JSON.parse(JSON.stringify(u, (_k, v: unknown) => (typeof v === 'bigint' ? `bigint:${v}` : v)));

describe('unit batch codec', () => {
  it.each<[string, SqlParam]>([
    ['null', null],
    ['zero', 0],
    ['a negative fraction', -12.375],
    ['a saga key beyond 2^32', 2 ** 40 + 7],
    ['the largest safe integer', Number.MAX_SAFE_INTEGER],
    ['an empty string', ''],
    ['ASCII JSON', '{"t":"dispatch","at":1796354783876,"s":0}'],
    ['non-ASCII text', 'Zahlung für Bestellung №7 — 支付 ✓ 🚀'],
    ['a bigint', 2n ** 70n + 1n],
    ['a negative bigint', -(2n ** 63n)],
    ['an empty blob', Buffer.alloc(0)],
    ['a blob', Buffer.from([0, 1, 2, 253, 254, 255])],
  ])('carries %s unchanged', (_name, value) => {
    const [u] = decodeUnitBatch(new UnitBatchEncoder().encode([unit({ journal: [[1, 2, value]] })]));
    const got = u!.journal[0]![2];
    if (Buffer.isBuffer(value)) expect(Buffer.compare(got as Buffer, value)).toBe(0);
    else expect(got).toStrictEqual(value);
  });

  it('carries every part of a unit, in order, and their blobs as views of the one buffer it moved', () => {
    const slab = Buffer.alloc(8192, 7);
    const payload = slab.subarray(100, 164); // a view of a larger buffer: only its 64 bytes cross
    const units = [
      unit({
        inserts: [[41, 'id-41', 'order', 'RUNNING', 1, 1, null, null, '{"v":2}', 'hash', null, null, null, 1]],
        journal: [[41, 1, '{"t":"dispatch"}']],
        reservations: [{ count: 64 }],
        bytes: 512,
      }),
      unit({
        journal: [[41, 2, '{"t":"result"}'], [41, 3, '{"t":"dispatch"}']],
        updates: [[41, 'COMPLETED', 2, 2, null, null, null, 3]],
        outbox: [['ev-1', 'saga.events.completed', payload, '{"h":"v"}', 'k41', 2]],
        statements: [{ sql: 'DELETE FROM outbox WHERE seq = ?', params: [9] }],
        purge: [7, 8],
        bytes: 300,
      }),
    ];
    const batch = new UnitBatchEncoder().encode(units);
    expect(batch.byteLength).toBeLessThan(1024);
    const decoded = decodeUnitBatch(batch);
    expect(decoded.map(plain)).toEqual(units.map(plain));
    const blob = decoded[1]!.outbox[0]![2] as Buffer;
    expect(blob.buffer).toBe(batch);
    expect(blob.byteLength).toBe(64);
    expect(decoded[0]!.reservations[0]!.last).toBeUndefined();
  });

  it('reuses one encoder across batches, growing past its first buffer, each batch in an ArrayBuffer of its own', () => {
    const encoder = new UnitBatchEncoder();
    const big = unit({ journal: Array.from({ length: 400 }, (_, i) => [i, i, 'x'.repeat(100)]) });
    const first = encoder.encode([big]);
    expect(first.byteLength).toBeGreaterThan(16 * 1024);
    const second = encoder.encode([unit({ journal: [[1, 1, 'small']] })]);
    expect(second).not.toBe(first);
    expect(decodeUnitBatch(first)[0]!.journal).toHaveLength(400);
    expect(decodeUnitBatch(second)[0]!.journal).toEqual([[1, 1, 'small']]);
  });

  it('round-trips any batch of units (property)', () => {
    const param = fc.oneof(
      fc.constant(null),
      fc.double({ noNaN: true }),
      fc.string({ unit: 'grapheme' }),
      fc.bigInt(),
      fc.uint8Array({ maxLength: 64 }).map((a) => Buffer.from(a)),
    );
    const rows = fc.array(fc.array(param, { maxLength: 6 }), { maxLength: 4 });
    const arbUnit = fc.record({
      inserts: rows,
      journal: rows,
      updates: rows,
      outbox: rows,
      statements: fc.array(fc.record({ sql: fc.string(), params: fc.array(param, { maxLength: 4 }) }), { maxLength: 2 }),
      purge: fc.array(fc.nat(), { maxLength: 3 }),
      reservations: fc.array(fc.record({ count: fc.nat() }), { maxLength: 2 }),
      bytes: fc.nat(),
    });
    const encoder = new UnitBatchEncoder();
    fc.assert(
      fc.property(fc.array(arbUnit, { maxLength: 5 }), (units) => {
        const decoded = decodeUnitBatch(encoder.encode(units));
        expect(decoded.map(plain)).toEqual(units.map(plain));
        // JSON above cannot tell -0 from 0: every number keeps its exact value.
        units.forEach((u, i) =>
          u.journal.forEach((row, r) =>
            row.forEach((v, c) => {
              if (typeof v === 'number') expect(Object.is(decoded[i]!.journal[r]![c], v)).toBe(true);
            }),
          ),
        );
      }),
      { numRuns: 300 },
    );
  });

  it('refuses a parameter SQLite cannot bind, naming its type', () => {
    const bad = unit({ journal: [[1, 2, true as unknown as SqlParam]] });
    expect(() => new UnitBatchEncoder().encode([bad])).toThrow(/must be null, a number, a string, a bigint or bytes, not boolean/);
  });

  it('encodes the next batch alone after one that failed half-way', () => {
    const encoder = new UnitBatchEncoder();
    const bad = unit({ journal: [[1, 2, 'written before the bad value'], [1, 3, true as unknown as SqlParam]] });
    expect(() => encoder.encode([bad])).toThrow(/not boolean/);
    const next = unit({ journal: [[2, 1, 'next']] });
    expect(decodeUnitBatch(encoder.encode([next])).map(plain)).toEqual([plain(next)]);
  });

  it('refuses a truncated batch, trailing bytes and an unknown value tag', () => {
    const batch = new UnitBatchEncoder().encode([unit({ journal: [[1, 2, 'text']] })]);
    expect(() => decodeUnitBatch(batch.slice(0, batch.byteLength - 3))).toThrow(/truncated/);
    const longer = new Uint8Array(batch.byteLength + 2);
    longer.set(new Uint8Array(batch));
    expect(() => decodeUnitBatch(longer.buffer)).toThrow(/after its last unit/);
    const tagged = new Uint8Array(batch.slice(0));
    // count (4) + inserts count (4) + journal count (4) + row width (4) + first tag.
    tagged[16] = 99;
    expect(() => decodeUnitBatch(tagged.buffer)).toThrow(/unknown value tag 99/);
  });
});
