// What a batch is made into before it crosses to the writer thread: views of
// larger buffers become exact-size copies (a structured clone would copy the
// whole buffer behind a view), with the same bytes; nothing else changes.

import { describe, expect, it } from 'vitest';
import type { SqlParam } from './sqlite-connection.js';
import type { EncodedUnit } from './sqlite-unit-writer.js';
import { ownBytes } from './sqlite-writer-thread.js';

const unit = (rows: Partial<EncodedUnit>): EncodedUnit => ({ inserts: [], journal: [], updates: [], outbox: [], statements: [], purge: [], reservations: [], bytes: 0, ...rows });

describe('ownBytes', () => {
  it('copies each view of a larger buffer to one of its own, keeping its bytes, and leaves other params as they were', () => {
    const slab = Buffer.alloc(8192);
    for (let i = 0; i < slab.length; i++) slab[i] = i % 251;
    const atStart = slab.subarray(0, 60);
    const inMiddle = slab.subarray(4000, 4100);
    const empty = slab.subarray(10, 10);
    const pooled = Buffer.from('a short string lands in the shared pool');
    const own = Buffer.from(new ArrayBuffer(5));
    const outbox: SqlParam[][] = [['id', 's.x', atStart, '{}', 'k', 1]];
    const journal: SqlParam[][] = [[1, 2, 'text'], [1, 3, inMiddle]];
    const statements = [{ sql: 'UPDATE x SET y = ?, z = ? WHERE w = ?', params: [pooled, own, empty] }];
    const units = ownBytes([unit({ outbox, journal, statements })]);

    const buffers = [outbox[0]![2], journal[1]![2], statements[0]!.params[0], statements[0]!.params[1], statements[0]!.params[2]] as Buffer[];
    for (const b of buffers) expect(b.byteLength).toBe(b.buffer.byteLength);
    expect(buffers[0]).toEqual(slab.subarray(0, 60));
    expect(buffers[0]).not.toBe(atStart);
    expect(buffers[1]).toEqual(slab.subarray(4000, 4100));
    expect(buffers[2]!.toString()).toBe('a short string lands in the shared pool');
    expect(buffers[3]).toBe(own);
    expect(buffers[4]!.length).toBe(0);
    expect(outbox[0]).toEqual(['id', 's.x', slab.subarray(0, 60), '{}', 'k', 1]);
    expect(journal[0]).toEqual([1, 2, 'text']);
    expect(units[0]!.outbox).toBe(outbox);

    // A batch written again (isolated, after a unit's conflict) is not copied a second time.
    const first = outbox[0]![2];
    ownBytes(units);
    expect(outbox[0]![2]).toBe(first);
  });
});
