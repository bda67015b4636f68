// A batch of encoded units as one byte buffer, for the hop to the writer
// thread (sqlite-writer-thread.ts): every row value is written, tag by tag,
// into one ArrayBuffer that is transferred (moved, not copied), and read back
// on the thread as the same EncodedUnit shape, each blob a view of that
// buffer. It replaces a structured clone, whose serializer walked every row
// array and unit object (property names included) on the event loop and
// rebuilt them all on the writer, the log's one serial resource.

import type { SqlParam } from './sqlite-connection.js';
import type { EncodedUnit } from './sqlite-unit-writer.js';

const NULL = 0;
const NUMBER = 1;
const STRING = 2;
const BLOB = 3;
const BIGINT = 4;

/** Appends to a growing buffer; `finish` copies what was written into an ArrayBuffer of its own (transferable). */
class ByteWriter {
  private buf = Buffer.allocUnsafe(16 * 1024);
  private pos = 0;

  private room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  u32(v: number): void {
    this.room(4);
    this.buf.writeUInt32LE(v, this.pos);
    this.pos += 4;
  }

  f64(v: number): void {
    this.room(8);
    this.buf.writeDoubleLE(v, this.pos);
    this.pos += 8;
  }

  tag(t: number): void {
    this.room(1);
    this.buf[this.pos++] = t;
  }

  /** UTF-8, length first (at most 3 bytes per UTF-16 unit). */
  string(s: string): void {
    this.room(4 + s.length * 3);
    const n = this.buf.write(s, this.pos + 4, 'utf8');
    this.buf.writeUInt32LE(n, this.pos);
    this.pos += 4 + n;
  }

  bytes(b: Uint8Array): void {
    this.room(4 + b.byteLength);
    this.buf.writeUInt32LE(b.byteLength, this.pos);
    this.buf.set(b, this.pos + 4);
    this.pos += 4 + b.byteLength;
  }

  /** Starts a new batch, dropping whatever an earlier (possibly failed) one left. */
  reset(): void {
    this.pos = 0;
  }

  finish(): ArrayBuffer {
    const out = new ArrayBuffer(this.pos);
    this.buf.copy(new Uint8Array(out), 0, 0, this.pos);
    return out;
  }
}

class ByteReader {
  private pos = 0;
  private readonly buf: Buffer;

  constructor(private readonly ab: ArrayBuffer) {
    this.buf = Buffer.from(ab);
  }

  private need(n: number): void {
    if (this.pos + n > this.buf.length) throw new Error(`unit batch truncated at byte ${this.pos} (needs ${n} more of ${this.buf.length})`);
  }

  u32(): number {
    this.need(4);
    const v = this.buf.readUInt32LE(this.pos);
    this.pos += 4;
    return v;
  }

  f64(): number {
    this.need(8);
    const v = this.buf.readDoubleLE(this.pos);
    this.pos += 8;
    return v;
  }

  tag(): number {
    this.need(1);
    return this.buf[this.pos++] as number;
  }

  string(): string {
    const n = this.u32();
    this.need(n);
    const s = this.buf.toString('utf8', this.pos, this.pos + n);
    this.pos += n;
    return s;
  }

  /** A view of the batch's buffer: no copy. */
  bytes(): Buffer {
    const n = this.u32();
    this.need(n);
    const b = Buffer.from(this.ab, this.pos, n);
    this.pos += n;
    return b;
  }

  end(): void {
    if (this.pos !== this.buf.length) throw new Error(`unit batch has ${this.buf.length - this.pos} bytes after its last unit`);
  }
}

function writeParam(w: ByteWriter, p: SqlParam): void {
  if (p === null) w.tag(NULL);
  else if (typeof p === 'number') {
    w.tag(NUMBER);
    w.f64(p);
  } else if (typeof p === 'string') {
    w.tag(STRING);
    w.string(p);
  } else if (typeof p === 'bigint') {
    w.tag(BIGINT);
    w.string(p.toString());
  } else if (p instanceof Uint8Array) {
    w.tag(BLOB);
    w.bytes(p);
  } else {
    throw new TypeError(`a unit's SQL parameter must be null, a number, a string, a bigint or bytes, not ${typeof p}`);
  }
}

function readParam(r: ByteReader): SqlParam {
  const t = r.tag();
  switch (t) {
    case NULL:
      return null;
    case NUMBER:
      return r.f64();
    case STRING:
      return r.string();
    case BLOB:
      return r.bytes();
    case BIGINT:
      return BigInt(r.string());
    default:
      throw new Error(`unit batch has an unknown value tag ${t}`);
  }
}

function writeParams(w: ByteWriter, row: readonly SqlParam[]): void {
  w.u32(row.length);
  for (const p of row) writeParam(w, p);
}

function readParams(r: ByteReader): SqlParam[] {
  const n = r.u32();
  const row = new Array<SqlParam>(n);
  for (let i = 0; i < n; i++) row[i] = readParam(r);
  return row;
}

function writeRows(w: ByteWriter, rows: readonly (readonly SqlParam[])[]): void {
  w.u32(rows.length);
  for (const row of rows) writeParams(w, row);
}

function readRows(r: ByteReader): SqlParam[][] {
  const n = r.u32();
  const rows = new Array<SqlParam[]>(n);
  for (let i = 0; i < n; i++) rows[i] = readParams(r);
  return rows;
}

/**
 * Encodes `units` into an ArrayBuffer of their own (safe to transfer). A
 * writer is reused between batches (one thread, one batch at a time): pass
 * the same one to keep its buffer warm.
 */
export class UnitBatchEncoder {
  private readonly w = new ByteWriter();

  encode(units: readonly EncodedUnit[]): ArrayBuffer {
    const w = this.w;
    w.reset();
    w.u32(units.length);
    for (const u of units) {
      writeRows(w, u.inserts);
      writeRows(w, u.journal);
      writeRows(w, u.updates);
      writeRows(w, u.outbox);
      w.u32(u.statements.length);
      for (const st of u.statements) {
        w.string(st.sql);
        writeParams(w, st.params);
      }
      w.u32(u.purge.length);
      for (const key of u.purge) w.f64(key);
      w.u32(u.reservations.length);
      for (const res of u.reservations) w.f64(res.count);
      w.f64(u.bytes);
    }
    return w.finish();
  }
}

/** The units of an encoded batch; blobs are views of `batch`. Throws on a malformed batch. */
export function decodeUnitBatch(batch: ArrayBuffer): EncodedUnit[] {
  const r = new ByteReader(batch);
  const n = r.u32();
  const units: EncodedUnit[] = [];
  for (let i = 0; i < n; i++) {
    const inserts = readRows(r);
    const journal = readRows(r);
    const updates = readRows(r);
    const outbox = readRows(r);
    const statements = new Array<{ sql: string; params: SqlParam[] }>(r.u32());
    for (let s = 0; s < statements.length; s++) statements[s] = { sql: r.string(), params: readParams(r) };
    const purge = new Array<number>(r.u32());
    for (let p = 0; p < purge.length; p++) purge[p] = r.f64();
    const reservations = new Array<{ count: number; last?: number }>(r.u32());
    for (let k = 0; k < reservations.length; k++) reservations[k] = { count: r.f64() };
    units.push({ inserts, journal, updates, outbox, statements, purge, reservations, bytes: r.f64() });
  }
  r.end();
  return units;
}
