// W3C traceparent values for participant calls: well-formed, in the saga's
// trace (or the caller's), a new span id per call.

import { describe, expect, it } from 'vitest';
import { parseTraceparent, randomSpanId, traceIdOf, traceparentFor } from './traceparent.js';

const FORMAT = /^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/;

describe('traceparentFor', () => {
  it.each(['s', 'order-42', '0190f1d2-7c3e-7a1b-9f00-123456789abc', 'ünïcode saga', 'x'.repeat(100)])('is well formed and in the trace derived from the saga id (%s)', (sagaId) => {
    const value = traceparentFor(sagaId, undefined, randomSpanId());
    expect(value).toMatch(FORMAT);
    expect(parseTraceparent(value)).toEqual({ traceId: traceIdOf(sagaId), flags: '01' });
  });

  it('gives every call of a saga the same trace id and its own span id', () => {
    const a = traceparentFor('saga-1', undefined, randomSpanId());
    const b = traceparentFor('saga-1', undefined, randomSpanId());
    expect(a.slice(0, 36)).toBe(b.slice(0, 36));
    expect(a).not.toBe(b);
    expect(traceIdOf('saga-1')).not.toBe(traceIdOf('saga-2'));
  });

  it('continues a valid caller traceparent with a new span, keeping its flags', () => {
    const caller = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00';
    expect(traceparentFor('saga-1', caller, '1111111111111111')).toBe('00-4bf92f3577b34da6a3ce929d0e0e4736-1111111111111111-00');
  });

  it.each([
    ['a malformed value', 'not-a-traceparent'],
    ['an all-zero trace id', `00-${'0'.repeat(32)}-00f067aa0ba902b7-01`],
    ['an all-zero parent id', `00-4bf92f3577b34da6a3ce929d0e0e4736-${'0'.repeat(16)}-01`],
    ['upper-case hex', '00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01'],
    ['another version', '01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'],
  ])('ignores a caller traceparent with %s', (_what, caller) => {
    expect(parseTraceparent(traceparentFor('saga-1', caller, '1111111111111111'))?.traceId).toBe(traceIdOf('saga-1'));
  });
});
