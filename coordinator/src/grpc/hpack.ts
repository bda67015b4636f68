// HPACK (RFC 7541) for the coordinator's own HTTP/2 framing (h2-frame-session.ts).
//
// Encoding: every header is a literal without indexing (the static table's
// name index where it has the name; a full static match is sent as its index),
// no Huffman: the coordinator's requests are small and differ per call in the
// values that matter (path, grpc-timeout, traceparent), so a dynamic table
// would buy little, and this keeps the encoder stateless.
//
// Decoding: the whole format (indexed fields, literals with and without
// indexing, table size updates, Huffman strings), with a dynamic table bounded
// by the size we announced. We announce 0, so a participant's encoder keeps no
// state and sends the same bytes for the same answer: a block whose decoding
// neither read nor changed the dynamic table is remembered by its bytes, and
// the next identical block costs one Map lookup.

import { HUFFMAN_CODES, HUFFMAN_LENGTHS, STATIC_TABLE } from './hpack-tables.js';

/** A malformed header block: a connection error (COMPRESSION_ERROR) for HTTP/2. */
export class HpackError extends Error {
  constructor(message: string) {
    super(`HPACK: ${message}`);
    this.name = 'HpackError';
  }
}

/** Decoded header fields; a repeated name's values joined with ", " (":status" and "grpc-*" never repeat). */
export type HeaderFields = Readonly<Record<string, string>>;

// ---- Huffman decoding: the code as a binary tree, walked bit by bit.

const EOS = 256;
/** Children of node i at [2i] (bit 0) and [2i + 1] (bit 1); 0 = none (the root is never a child). */
const children = new Int32Array(2 * 2 * 257);
/** The symbol at node i, -1 for an inner node. */
const symbols = new Int16Array(2 * 257).fill(-1);
(function buildTree() {
  let nodes = 1;
  const add = (code: number, length: number, symbol: number): void => {
    let node = 0;
    for (let bit = length - 1; bit >= 0; bit--) {
      const slot = 2 * node + ((code >>> bit) & 1);
      let next = children[slot] ?? 0;
      if (next === 0) {
        next = nodes++;
        children[slot] = next;
      }
      node = next;
    }
    symbols[node] = symbol;
  };
  for (let s = 0; s < 256; s++) add(HUFFMAN_CODES[s] ?? 0, HUFFMAN_LENGTHS[s] ?? 0, s);
  add(0x3fffffff, 30, EOS);
})();

/** Decodes `length` Huffman-coded octets of `buf` at `pos` (RFC 7541 §5.2). */
export function huffmanDecode(buf: Uint8Array, pos: number, length: number): string {
  const out = Buffer.allocUnsafe(Math.ceil((length * 8) / 5));
  let n = 0;
  let node = 0;
  // Bits since the last symbol, and whether they were all ones: the padding rule.
  let pending = 0;
  let allOnes = true;
  const end = pos + length;
  for (let i = pos; i < end; i++) {
    const byte = buf[i] ?? 0;
    for (let bit = 7; bit >= 0; bit--) {
      const b = (byte >>> bit) & 1;
      node = children[2 * node + b] ?? 0;
      if (node === 0) throw new HpackError('invalid Huffman code');
      pending++;
      if (b === 0) allOnes = false;
      const symbol = symbols[node] ?? -1;
      if (symbol >= 0) {
        if (symbol === EOS) throw new HpackError('EOS in a Huffman string');
        out[n++] = symbol;
        node = 0;
        pending = 0;
        allOnes = true;
      }
    }
  }
  if (node !== 0 && (pending > 7 || !allOnes)) throw new HpackError('invalid Huffman padding');
  return out.toString('latin1', 0, n);
}

// ---- Integers and strings (RFC 7541 §5.1, §5.2).

interface Cursor {
  pos: number;
}

function decodeInteger(buf: Uint8Array, c: Cursor, prefixBits: number): number {
  const mask = (1 << prefixBits) - 1;
  if (c.pos >= buf.length) throw new HpackError('truncated integer');
  let value = (buf[c.pos++] ?? 0) & mask;
  if (value < mask) return value;
  let shift = 0;
  for (;;) {
    if (c.pos >= buf.length) throw new HpackError('truncated integer');
    const b = buf[c.pos++] ?? 0;
    value += (b & 0x7f) * 2 ** shift;
    if ((b & 0x80) === 0) break;
    shift += 7;
    if (shift > 28) throw new HpackError('integer too large');
  }
  if (value > 0xffffffff) throw new HpackError('integer too large');
  return value;
}

function decodeString(buf: Uint8Array, c: Cursor): string {
  if (c.pos >= buf.length) throw new HpackError('truncated string');
  const huffman = ((buf[c.pos] ?? 0) & 0x80) !== 0;
  const length = decodeInteger(buf, c, 7);
  if (c.pos + length > buf.length) throw new HpackError('truncated string');
  const start = c.pos;
  c.pos += length;
  return huffman ? huffmanDecode(buf, start, length) : Buffer.from(buf.buffer, buf.byteOffset + start, length).toString('latin1');
}

// ---- The decoder.

/** HPACK's per-entry overhead (RFC 7541 §4.1). */
const ENTRY_OVERHEAD = 32;
/** Blocks remembered by their bytes (answers repeat: a handful of distinct blocks per participant). */
const MEMO_LIMIT = 256;

export class HpackDecoder {
  /** Oldest first: the newest entry (index 62) is the last. */
  private readonly table: [string, string][] = [];
  private tableBytes = 0;
  private maxTableBytes: number;
  private readonly memo = new Map<string, HeaderFields>();

  /** `limit`: the largest dynamic table the encoder may ask for (the SETTINGS_HEADER_TABLE_SIZE its peer allows; 4096 until it has seen ours). */
  constructor(private limit = 4096) {
    this.maxTableBytes = limit;
  }

  /** The SETTINGS_HEADER_TABLE_SIZE we announced was acknowledged: the encoder must size its table within it. */
  setLimit(limit: number): void {
    this.limit = limit;
    if (this.maxTableBytes > limit) this.resize(limit);
  }

  decode(block: Uint8Array): HeaderFields {
    const key = block.length <= 512 ? Buffer.from(block.buffer, block.byteOffset, block.length).toString('latin1') : undefined;
    if (key !== undefined) {
      const known = this.memo.get(key);
      if (known !== undefined) return known;
    }
    // No prototype: a participant's header named __proto__ is just a header.
    const fields = Object.create(null) as Record<string, string>;
    let stateless = true;
    const c: Cursor = { pos: 0 };
    let fieldSeen = false;
    while (c.pos < block.length) {
      const b = block[c.pos] ?? 0;
      let name: string;
      let value: string;
      if ((b & 0x80) !== 0) {
        const index = decodeInteger(block, c, 7);
        if (index === 0) throw new HpackError('index 0');
        if (index > STATIC_TABLE.length) stateless = false;
        [name, value] = this.entry(index);
      } else if ((b & 0x40) !== 0) {
        // Literal with incremental indexing: it enters the dynamic table.
        stateless = false;
        const index = decodeInteger(block, c, 6);
        name = index === 0 ? decodeString(block, c) : this.entry(index)[0];
        value = decodeString(block, c);
        this.insert(name, value);
      } else if ((b & 0x20) !== 0) {
        if (fieldSeen) throw new HpackError('table size update after a field');
        const size = decodeInteger(block, c, 5);
        if (size > this.limit) throw new HpackError(`table size update to ${size} beyond the ${this.limit} allowed`);
        if (size !== this.maxTableBytes) stateless = false;
        this.resize(size);
        continue;
      } else {
        // Literal without indexing (0000) or never indexed (0001).
        const index = decodeInteger(block, c, 4);
        if (index > STATIC_TABLE.length) stateless = false;
        name = index === 0 ? decodeString(block, c) : this.entry(index)[0];
        value = decodeString(block, c);
      }
      fieldSeen = true;
      const before = fields[name];
      fields[name] = before === undefined ? value : `${before}, ${value}`;
    }
    const decoded = Object.freeze(fields);
    if (stateless && key !== undefined) {
      if (this.memo.size >= MEMO_LIMIT) this.memo.clear();
      this.memo.set(key, decoded);
    }
    return decoded;
  }

  private entry(index: number): readonly [string, string] {
    if (index <= STATIC_TABLE.length) return STATIC_TABLE[index - 1] as readonly [string, string];
    const e = this.table[this.table.length - 1 - (index - STATIC_TABLE.length - 1)];
    if (e === undefined) throw new HpackError(`index ${index} beyond the tables`);
    return e;
  }

  private insert(name: string, value: string): void {
    const size = name.length + value.length + ENTRY_OVERHEAD;
    if (size > this.maxTableBytes) {
      // An entry larger than the table empties it (RFC 7541 §4.4).
      this.table.length = 0;
      this.tableBytes = 0;
      return;
    }
    this.table.push([name, value]);
    this.tableBytes += size;
    this.evict();
  }

  private resize(size: number): void {
    this.maxTableBytes = size;
    this.evict();
  }

  private evict(): void {
    while (this.tableBytes > this.maxTableBytes) {
      const old = this.table.shift();
      if (old === undefined) break;
      this.tableBytes -= old[0].length + old[1].length + ENTRY_OVERHEAD;
    }
  }
}

// ---- The encoder.

/**
 * name -> its first static index, and value -> the index of each full entry.
 * Keyed by the strings themselves, so that a lookup builds no string per
 * header (the constant names and values keep their hashes).
 */
const STATIC = new Map<string, { readonly index: number; readonly values: Map<string, number> }>();
STATIC_TABLE.forEach(([name, value], i) => {
  let entry = STATIC.get(name);
  if (entry === undefined) {
    entry = { index: i + 1, values: new Map() };
    STATIC.set(name, entry);
  }
  entry.values.set(value, i + 1);
});

function integerBytes(value: number, prefixBits: number): number {
  const mask = (1 << prefixBits) - 1;
  if (value < mask) return 1;
  let n = 1;
  value -= mask;
  while (value >= 0x80) {
    n++;
    value = Math.floor(value / 128);
  }
  return n + 1;
}

function writeInteger(out: Buffer, pos: number, value: number, prefixBits: number, pattern: number): number {
  const mask = (1 << prefixBits) - 1;
  if (value < mask) {
    out[pos++] = pattern | value;
    return pos;
  }
  out[pos++] = pattern | mask;
  value -= mask;
  while (value >= 0x80) {
    out[pos++] = (value % 128) | 0x80;
    value = Math.floor(value / 128);
  }
  out[pos++] = value;
  return pos;
}

/**
 * Encodes header fields (names lower-case, values octets as latin1) into a
 * header block written at `out[pos..]`; returns the end. `encodedLength` says
 * how much room it needs.
 */
export function encodeHeaders(fields: readonly (readonly [string, string])[], out: Buffer, pos: number): number {
  for (const [name, value] of fields) {
    const known = STATIC.get(name);
    const full = known?.values.get(value);
    if (full !== undefined) {
      pos = writeInteger(out, pos, full, 7, 0x80);
      continue;
    }
    const nameIndex = known?.index ?? 0;
    pos = writeInteger(out, pos, nameIndex, 4, 0x00);
    if (nameIndex === 0) {
      pos = writeInteger(out, pos, name.length, 7, 0x00);
      pos += out.write(name, pos, 'latin1');
    }
    pos = writeInteger(out, pos, value.length, 7, 0x00);
    pos += out.write(value, pos, 'latin1');
  }
  return pos;
}

/** The bytes `encodeHeaders` writes for `fields`. */
export function encodedLength(fields: readonly (readonly [string, string])[]): number {
  let n = 0;
  for (const [name, value] of fields) {
    const known = STATIC.get(name);
    const full = known?.values.get(value);
    if (full !== undefined) {
      n += integerBytes(full, 7);
      continue;
    }
    const nameIndex = known?.index ?? 0;
    n += integerBytes(nameIndex, 4);
    if (nameIndex === 0) n += integerBytes(name.length, 7) + name.length;
    n += integerBytes(value.length, 7) + value.length;
  }
  return n;
}
