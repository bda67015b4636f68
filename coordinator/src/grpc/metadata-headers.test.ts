// Which saga metadata entries become gRPC metadata headers, and how.

import type { OutgoingHttpHeaders } from 'node:http2';
import { describe, expect, it } from 'vitest';
import { addMetadataHeaders } from './metadata-headers.js';

function headersOf(metadata: Record<string, string>, budget = 4096): OutgoingHttpHeaders {
  const headers: OutgoingHttpHeaders = {};
  addMetadataHeaders(headers, metadata, budget);
  return headers;
}

describe('addMetadataHeaders', () => {
  it('sends valid entries, with keys lower-cased', () => {
    expect(headersOf({ Tenant: 'acme', 'x-request.id_1': 'r 42' })).toEqual({ tenant: 'acme', 'x-request.id_1': 'r 42' });
  });

  it('leaves out keys gRPC or HTTP/2 cannot carry and names the transport sets itself', () => {
    const reserved = { 'grpc-timeout': '1S', 'content-type': 'text/plain', te: 'x', 'user-agent': 'x', traceparent: 'x', connection: 'close', 'a key': 'x', 'ключ': 'x', ':path': '/x' };
    expect(headersOf(reserved)).toEqual({});
  });

  it('leaves out values that are not printable ASCII, except -bin keys whose values go base64', () => {
    expect(headersOf({ note: 'ünïcode', line: 'a\nb', 'note-bin': 'ünïcode' })).toEqual({ 'note-bin': Buffer.from('ünïcode').toString('base64') });
  });

  it('stops at the byte budget, keeping the entries that fit', () => {
    const headers = headersOf({ big: 'x'.repeat(100), small: 'y' }, 60);
    expect(headers).toEqual({ small: 'y' });
  });
});
