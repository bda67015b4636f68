// HPACK: the RFC 7541 examples (Appendix C) byte for byte, round trips of our
// encoder and of a Huffman encoder written here from the code table, and the
// malformed blocks a hostile participant could send.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodedLength, encodeHeaders, HpackDecoder, HpackError, huffmanDecode } from './hpack.js';
import { HUFFMAN_CODES, HUFFMAN_LENGTHS } from './hpack-tables.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

/** Huffman-encodes `s` (latin1), padded with ones: the test's own encoder, from the table. */
function huffmanEncode(s: string): Buffer {
  const bytes: number[] = [];
  let acc = 0;
  let bits = 0;
  for (const octet of Buffer.from(s, 'latin1')) {
    const code = HUFFMAN_CODES[octet] ?? 0;
    const length = HUFFMAN_LENGTHS[octet] ?? 0;
    for (let bit = length - 1; bit >= 0; bit--) {
      acc = (acc << 1) | ((code >>> bit) & 1);
      bits++;
      if (bits === 8) {
        bytes.push(acc);
        acc = 0;
        bits = 0;
      }
    }
  }
  if (bits > 0) bytes.push(((acc << (8 - bits)) | ((1 << (8 - bits)) - 1)) & 0xff);
  return Buffer.from(bytes);
}

/** An HPACK integer with `prefix` bits and the high bits `pattern`. */
function integer(value: number, prefix: number, pattern: number): number[] {
  const max = (1 << prefix) - 1;
  if (value < max) return [pattern | value];
  const out = [pattern | max];
  let v = value - max;
  while (v >= 128) {
    out.push((v % 128) | 128);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return out;
}

const stringLiteral = (s: string, huffman: boolean): number[] => {
  const body = huffman ? huffmanEncode(s) : Buffer.from(s, 'latin1');
  return [...integer(body.length, 7, huffman ? 0x80 : 0), ...body];
};

describe('HPACK decoding: RFC 7541 Appendix C', () => {
  it('C.2.1: a literal with indexing and a new name enters the dynamic table', () => {
    const d = new HpackDecoder();
    expect(d.decode(hex('400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572'))).toEqual({ 'custom-key': 'custom-header' });
    // Index 62 is now that entry.
    expect(d.decode(Buffer.from([0xbe]))).toEqual({ 'custom-key': 'custom-header' });
  });

  it('C.2.2 and C.2.4: a literal without indexing of an indexed name, and an indexed field', () => {
    const d = new HpackDecoder();
    expect(d.decode(hex('040c 2f73 616d 706c 652f 7061 7468'))).toEqual({ ':path': '/sample/path' });
    expect(d.decode(hex('82'))).toEqual({ ':method': 'GET' });
  });

  it('C.4: three requests with Huffman coding share the dynamic table', () => {
    const d = new HpackDecoder();
    expect(d.decode(hex('8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff'))).toEqual({ ':method': 'GET', ':scheme': 'http', ':path': '/', ':authority': 'www.example.com' });
    expect(d.decode(hex('8286 84be 5886 a8eb 1064 9cbf'))).toEqual({ ':method': 'GET', ':scheme': 'http', ':path': '/', ':authority': 'www.example.com', 'cache-control': 'no-cache' });
    expect(d.decode(hex('8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf'))).toEqual({
      ':method': 'GET',
      ':scheme': 'https',
      ':path': '/index.html',
      ':authority': 'www.example.com',
      'custom-key': 'custom-value',
    });
  });
});

describe('Huffman decoding', () => {
  it('decodes what the code table encodes, for any octets', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (octets) => {
        const s = Buffer.from(octets).toString('latin1');
        const coded = huffmanEncode(s);
        expect(huffmanDecode(coded, 0, coded.length)).toBe(s);
      }),
    );
  });

  it('refuses padding that is not all ones, or longer than 7 bits, and EOS inside a string', () => {
    // "a" is 00011 (5 bits): padded with zeros instead of ones.
    expect(() => huffmanDecode(Buffer.from([0b00011000]), 0, 1)).toThrow(HpackError);
    // A whole byte of ones after a full symbol is 8 bits of padding.
    expect(() => huffmanDecode(Buffer.from([0b00011111, 0xff]), 0, 2)).toThrow(HpackError);
    // EOS: 30 ones.
    expect(() => huffmanDecode(Buffer.from([0xff, 0xff, 0xff, 0xfc]), 0, 4)).toThrow(HpackError);
  });
});

describe('our encoder', () => {
  const name = fc.stringMatching(/^[a-z0-9-]{1,20}$/);
  const value = fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 300 });
  const fields = fc.array(fc.tuple(fc.oneof(name, fc.constantFrom(':method', ':path', ':authority', ':scheme', 'content-type', 'user-agent', 'te')), value), { maxLength: 12 });

  it('writes blocks that decode to the same fields, in exactly encodedLength bytes', () => {
    fc.assert(
      fc.property(fields, (list) => {
        const unique = [...new Map(list).entries()];
        const out = Buffer.alloc(encodedLength(unique) + 8);
        const end = encodeHeaders(unique, out, 0);
        expect(end).toBe(encodedLength(unique));
        expect(new HpackDecoder(0).decode(out.subarray(0, end))).toEqual(Object.fromEntries(unique));
      }),
    );
  });

  it('sends a full static match as its index', () => {
    const out = Buffer.alloc(16);
    expect(encodeHeaders([[':method', 'POST']], out, 0)).toBe(1);
    expect(out[0]).toBe(0x83);
  });
});

describe('the decoder against any encoder', () => {
  // Random blocks of every representation, decoded against a model of the dynamic table.
  type Op = { kind: 'indexed-static'; index: number } | { kind: 'incremental' | 'plain' | 'never'; name: string; value: string; huffman: boolean };
  const text = fc.string({ unit: fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c)), minLength: 1, maxLength: 40 });
  const op: fc.Arbitrary<Op> = fc.oneof(
    fc.record({ kind: fc.constant('indexed-static' as const), index: fc.integer({ min: 2, max: 61 }) }),
    fc.record({ kind: fc.constantFrom('incremental' as const, 'plain' as const, 'never' as const), name: text.map((s) => `x-${s.toLowerCase()}`), value: text, huffman: fc.boolean() }),
  );

  it('keeps the table as the encoder does, across blocks, evicting by size', () => {
    fc.assert(
      fc.property(fc.array(fc.array(op, { maxLength: 8 }), { minLength: 1, maxLength: 6 }), (blocks) => {
        const d = new HpackDecoder(256);
        // The model: newest first, bounded at 256 bytes (the encoder's view).
        let table: [string, string][] = [];
        const limitTable = (): void => {
          let size = table.reduce((n, [a, b]) => n + a.length + b.length + 32, 0);
          while (size > 256) {
            const [a, b] = table.pop() as [string, string];
            size -= a.length + b.length + 32;
          }
        };
        const bytes: number[] = [...integer(256, 5, 0x20)];
        for (const block of blocks) {
          const want: Record<string, string> = {};
          for (const o of block) {
            if (o.kind === 'indexed-static') {
              bytes.push(...integer(o.index, 7, 0x80));
              continue;
            }
            // A name already in the table is referenced by its index, the rest spelt out.
            const at = table.findIndex(([n]) => n === o.name);
            const pattern = o.kind === 'incremental' ? 0x40 : o.kind === 'never' ? 0x10 : 0x00;
            const prefix = o.kind === 'incremental' ? 6 : 4;
            if (at >= 0) bytes.push(...integer(62 + at, prefix, pattern));
            else bytes.push(pattern, ...stringLiteral(o.name, o.huffman));
            bytes.push(...stringLiteral(o.value, o.huffman));
            if (o.kind === 'incremental') {
              table.unshift([o.name, o.value]);
              limitTable();
            }
          }
          // Only the last value of a repeated name is compared (the decoder joins them).
          const got = d.decode(Buffer.from(bytes));
          for (const o of block) {
            if (o.kind === 'indexed-static') continue;
            want[o.name] = o.value;
          }
          for (const [n, v] of Object.entries(want)) expect(got[n]?.endsWith(v)).toBe(true);
          bytes.length = 0;
        }
        table = [];
      }),
    );
  });

  it('refuses malformed blocks with HpackError', () => {
    const d = new HpackDecoder(0);
    // Index 0, an index past both tables, a truncated string, a truncated integer, a size update above the limit.
    for (const block of ['80', 'ff00', '040a 2f', '0f', '3fe1 1f']) expect(() => d.decode(hex(block))).toThrow(HpackError);
    // A size update after a field.
    expect(() => new HpackDecoder(4096).decode(hex('82 20'))).toThrow(HpackError);
  });

  it('remembers a stateless block and answers it again from memory, not a stateful one', () => {
    const d = new HpackDecoder(4096);
    const stateless = hex('8286 84');
    expect(d.decode(stateless)).toBe(d.decode(stateless));
    const stateful = hex('400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572');
    expect(d.decode(stateful)).not.toBe(d.decode(stateful));
  });
});
