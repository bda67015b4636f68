// A keyed table for entries that come and go at the rate of sagas or calls
// (the sagas in memory, the calls in flight, the waiters of a saga), with the
// part of Map's interface those uses need.
//
// Why not a Map: when V8 rehashes a Map or Set (it grows, or it fills up with
// deleted entries), the table it leaves keeps its entries and a pointer to the
// table that replaced it, so that live iterators can follow. Once one table of
// that chain is in the old generation (any table a full GC finds live is
// promoted), every later table and every entry any of them held survives the
// scavenges until the next full GC: everything an entry references is copied
// and promoted with it. With one table entry per saga in flight, that is every
// saga's objects. Here the entries live in a null-prototype object, whose
// dictionary is replaced without such a chain. Measured in BENCHMARKS.md
// (issue 14, session 8): a Map of 20 live entries churned 400,000 times
// promoted 131 MB, the same through an object 9.5 MB.

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
