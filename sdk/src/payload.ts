/**
 * Bytes given to a step or a message. A `Uint8Array` (or Buffer) is sent as
 * is, a `string` as UTF-8, any other object (plain objects, arrays) as its
 * JSON encoding. `undefined` is sent as empty bytes.
 */
export type PayloadInput = Uint8Array | string | object;

/** Encodes a payload per the rules of {@link PayloadInput}. */
export function encodePayload(payload: PayloadInput | undefined): Buffer {
  if (payload === undefined) return Buffer.alloc(0);
  if (payload instanceof Uint8Array) {
    return Buffer.isBuffer(payload) ? payload : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
  }
  if (typeof payload === 'string') return Buffer.from(payload, 'utf8');
  const json = JSON.stringify(payload);
  // JSON.stringify returns undefined for functions and symbols: refuse instead of sending nothing.
  if (typeof json !== 'string') throw new TypeError('payload is not JSON-encodable');
  return Buffer.from(json, 'utf8');
}
