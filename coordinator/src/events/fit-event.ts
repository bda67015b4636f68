// Keeps one of the coordinator's own events within what NATS carries
// (max_payload: payload and headers together). Participants fill some fields
// (error messages, failure reasons) after the saga was accepted, at any size:
// the event must never be lost for them, so the cuttable fields are emptied in
// order until the event fits, then the texts among them are given back as much
// of their start as the room left holds, each ending in a marker. Every field
// touched is named in the event's truncated_fields.

import { natsHeaderBytes } from './nats-header-bytes.js';

/** A field that may be cut: a text (keeps its start) or a whole part left out (e.g. metadata). */
export type CuttableField<E> =
  | { readonly kind: 'text'; readonly name: string; readonly get: (e: E) => string; readonly set: (e: E, value: string) => void }
  | { readonly kind: 'whole'; readonly name: string; readonly empty: (e: E) => boolean; readonly drop: (e: E) => void };

export interface Fitted {
  readonly payload: Buffer;
  /** Names of the fields cut (empty when the event fit as it was). */
  readonly truncated: readonly string[];
  /** False when even with every cuttable field cut it is too large (max_payload below the event's fixed part). */
  readonly fits: boolean;
}

/** Bytes the tag and length of a re-added string field can take (1-byte tag, varint length). */
const FIELD_OVERHEAD = 6;

/**
 * Encodes `event` so that payload + `headers` take at most `limit` bytes,
 * cutting `fields` (in order) when they do not. `event` is changed in place
 * (the cut fields and `truncatedFields`).
 */
export function fitEvent<E extends { truncatedFields: string[] }>(
  event: E,
  encode: (e: E) => Uint8Array,
  headers: Readonly<Record<string, string>>,
  limit: number,
  fields: readonly CuttableField<E>[],
): Fitted {
  let payload = Buffer.from(encode(event));
  // The usual case costs one comparison: headers' UTF-8 bytes are at most 3 per UTF-16 unit.
  if (payload.length + headerBound(headers) <= limit) return { payload, truncated: [], fits: true };
  const room = limit - natsHeaderBytes(headers);
  if (payload.length <= room) return { payload, truncated: [], fits: true };

  const cut: CuttableField<E>[] = [];
  const originals = new Map<string, string>();
  for (const f of fields) {
    if (payload.length <= room) break;
    if (f.kind === 'text') {
      const value = f.get(event);
      if (value === '') continue;
      originals.set(f.name, value);
      f.set(event, '');
    } else {
      if (f.empty(event)) continue;
      f.drop(event);
    }
    cut.push(f);
    event.truncatedFields = cut.map((c) => c.name);
    payload = Buffer.from(encode(event));
  }
  if (payload.length > room) return { payload, truncated: event.truncatedFields, fits: false };

  // Give the texts back, in order: whole when a later cut made the room, else as much of their start as the room holds.
  for (const f of cut) {
    if (f.kind !== 'text') continue;
    const original = originals.get(f.name) ?? '';
    const bytes = Buffer.byteLength(original);
    const free = room - payload.length - FIELD_OVERHEAD;
    const names = event.truncatedFields;
    let value: string;
    if (bytes <= free) {
      value = original;
      event.truncatedFields = names.filter((n) => n !== f.name);
    } else {
      const marker = `… [truncated from ${bytes} bytes]`;
      const budget = free - Buffer.byteLength(marker);
      if (budget <= 0) continue;
      value = `${utf8Prefix(original, budget)}${marker}`;
    }
    f.set(event, value);
    const longer = Buffer.from(encode(event));
    if (longer.length <= room) {
      payload = longer;
    } else {
      f.set(event, '');
      event.truncatedFields = names;
    }
  }
  return { payload, truncated: event.truncatedFields, fits: true };
}

/** The longest start of `text` whose UTF-8 encoding takes at most `maxBytes`, never splitting a character. */
export function utf8Prefix(text: string, maxBytes: number): string {
  const bytes = Buffer.from(text);
  if (bytes.length <= maxBytes) return text;
  let end = Math.max(0, maxBytes);
  // Back off continuation bytes (10xxxxxx) so the cut falls between characters.
  while (end > 0 && ((bytes[end] ?? 0) & 0xc0) === 0x80) end -= 1;
  return bytes.subarray(0, end).toString('utf8');
}

function headerBound(headers: Readonly<Record<string, string>>): number {
  // "NATS/1.0\r\n", "k: v\r\n" per header, "\r\n".
  let n = 12;
  for (const [k, v] of Object.entries(headers)) n += 3 * (k.length + v.length) + 4;
  return n;
}
