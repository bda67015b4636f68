// A keyed table for entries that come and go at the rate of sagas or calls
// (the sagas in memory, the calls in flight, the waiters of a saga), with the
// part of Map's interface those uses need.
//
// Why not a Map: when V8 rehashes a Map or Set (it grew, or it filled up with
// deleted entries), the table it leaves keeps its entries and a pointer to its
// successor (for live iterators), and the successor of a table in the old
// generation is allocated there too (V8's ordered-hash-table.cc). So once a
// Map's table has outlived two scavenges, every later table is old from
// birth, and each keeps the entries it held: the scavenger takes old-to-young
// pointers as roots, so those entries and everything they reference survive
// and are promoted, until a full GC finds the tables dead. With one entry per
// saga or call in flight, that is every saga's objects. A null-prototype
// object's dictionary is replaced without such a chain. Measured (BENCHMARKS.md,
// issue 14, session 8): 400,000 entries through a Map holding 20 at a time
// promoted 131 MB; through an object, 9.5 MB.

/** Keys: strings or non-negative integers (saga ids, call numbers). */
export type ChurnKey = string | number;

export class ChurnTable<K extends ChurnKey, V> {
  private entries: Record<ChurnKey, V> = Object.create(null) as Record<ChurnKey, V>;
  private count = 0;

  get size(): number {
    return this.count;
  }

  get(key: K): V | undefined {
    return this.entries[key];
  }

  has(key: K): boolean {
    return key in this.entries;
  }

  set(key: K, value: V): this {
    if (!(key in this.entries)) this.count++;
    this.entries[key] = value;
    return this;
  }

  delete(key: K): boolean {
    if (!(key in this.entries)) return false;
    delete this.entries[key];
    this.count--;
    return true;
  }

  clear(): void {
    this.entries = Object.create(null) as Record<ChurnKey, V>;
    this.count = 0;
  }

  /** A snapshot of the values: changing the table while walking it is safe. */
  values(): V[] {
    return Object.values(this.entries);
  }

  /** A snapshot of the keys, as strings (object keys). */
  keys(): string[] {
    return Object.keys(this.entries);
  }
}
