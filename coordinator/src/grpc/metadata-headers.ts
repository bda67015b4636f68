// The saga's metadata map as gRPC metadata headers. Entries that HTTP/2 or gRPC
// cannot carry are left out (they still reach the participant inside the
// StepCall message): keys outside gRPC's [0-9a-z_.-], reserved names, values
// that are not printable ASCII (except "-bin" keys, whose values are sent
// base64 as gRPC requires), and whatever would push the headers past a byte
// budget — grpc-js and grpcio servers refuse more than 8 KiB of metadata by
// default, which a saga's metadata (64 entries of 4 KiB) can exceed.

import type { OutgoingHttpHeaders } from 'node:http2';

const KEY = /^[0-9a-z_.-]+$/;
const PRINTABLE = /^[\x20-\x7e]*$/;
/** Set by the transport itself, or forbidden in HTTP/2 (node:http2 throws on connection-specific headers). */
const RESERVED = new Set(['content-type', 'te', 'user-agent', 'traceparent', 'host', 'connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade']);
/** HPACK's per-entry overhead (RFC 7541 §4.1). */
const ENTRY_OVERHEAD = 32;

/** Adds the entries of `metadata` that can be headers to `headers`, within `budgetBytes`. */
export function addMetadataHeaders(headers: OutgoingHttpHeaders, metadata: Readonly<Record<string, string>> | undefined, budgetBytes: number): void {
  if (metadata === undefined) return;
  let left = budgetBytes;
  for (const [rawKey, rawValue] of Object.entries(metadata)) {
    const key = rawKey.toLowerCase();
    if (!KEY.test(key) || key.startsWith('grpc-') || RESERVED.has(key)) continue;
    let value: string;
    if (key.endsWith('-bin')) value = Buffer.from(rawValue, 'utf8').toString('base64');
    else if (PRINTABLE.test(rawValue)) value = rawValue;
    else continue;
    const cost = key.length + value.length + ENTRY_OVERHEAD;
    if (cost > left) continue;
    left -= cost;
    headers[key] = value;
  }
}
