// W3C trace context (https://www.w3.org/TR/trace-context/) for participant
// calls: every call of one saga carries the same trace id, so a participant's
// tracing joins them into one trace even before the coordinator records spans.
// A caller's own valid traceparent keeps its trace id and flags; the
// coordinator's call becomes a new span (parent id) in it.

import { createHash } from 'node:crypto';
import { RandomPool } from '../util/random-pool.js';

const VERSION_00 = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;
const ZERO_TRACE_ID = '0'.repeat(32);
const ZERO_SPAN_ID = '0'.repeat(16);
// One CSPRNG call per 512 span ids instead of one per call.
const spanIdBytes = new RandomPool(4096);

/** 8 random bytes as 16 hex digits, never all zero (an invalid parent id). */
export function randomSpanId(): string {
  const id = spanIdBytes.hex(8);
  return id === ZERO_SPAN_ID ? '0000000000000001' : id;
}

/** The trace id of a saga: its id hashed, so every call and every coordinator agrees on it. */
export function traceIdOf(sagaId: string): string {
  const id = createHash('sha256').update(sagaId).digest('hex').slice(0, 32);
  return id === ZERO_TRACE_ID ? '0'.repeat(31) + '1' : id;
}

/** The trace id and flags of a well-formed version-00 traceparent, or undefined. */
export function parseTraceparent(value: string | undefined): { readonly traceId: string; readonly flags: string } | undefined {
  if (value === undefined) return undefined;
  const m = VERSION_00.exec(value);
  if (m === null) return undefined;
  const [, traceId = '', parentId = '', flags = ''] = m;
  if (traceId === ZERO_TRACE_ID || parentId === ZERO_SPAN_ID) return undefined;
  return { traceId, flags };
}

/**
 * The traceparent of one call: in the caller's trace when `callerTraceparent`
 * is a valid one, else in the trace derived from `sagaId`, sampled (flag 01)
 * so that participants' parent-based samplers record their side.
 */
export function traceparentFor(sagaId: string, callerTraceparent: string | undefined, spanId: string): string {
  const caller = parseTraceparent(callerTraceparent);
  return caller !== undefined ? `00-${caller.traceId}-${spanId}-${caller.flags}` : `00-${traceIdOf(sagaId)}-${spanId}-01`;
}
