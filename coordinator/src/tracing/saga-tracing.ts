// One span per saga, from StartSaga to its outcome: begun at the gRPC edge
// (child of the caller's traceparent) so that its traceparent is stored with
// the definition, then ended by the engine's onCommitted observer when the
// outcome is durable. A saga resumed after a restart, or re-driven after
// MANUAL, gets a continuation span, child of the stored context: its later
// spans keep the original trace id. Call spans are the invoker's
// (tracing-participant-invoker.ts).

import { SpanStatusCode, type Span, type Tracer } from '@opentelemetry/api';
import type { JournalEvent } from '../domain/journal-event.js';
import type { SagaRuntime } from '../engine/saga-runtime.js';
import { contextFromTraceparent, traceparentOf } from './trace-context.js';

export class SagaTracing {
  /** Begun at StartSaga, by span id, until the saga's first write is committed. */
  private readonly pending = new Map<string, Span>();
  /** By saga id, until its outcome is committed. */
  private readonly live = new Map<string, Span>();

  constructor(private readonly tracer: Tracer) {}

  /** Before the saga is created: begins its span and answers the traceparent to store with it. */
  beginSaga(name: string, callerTraceparent: string | undefined): string {
    const span = this.tracer.startSpan(`saga ${name}`, { attributes: { 'saga.name': name } }, contextFromTraceparent(callerTraceparent));
    this.pending.set(span.spanContext().spanId, span);
    return traceparentOf(span.spanContext());
  }

  /** The start created nothing (a known saga id, or refused): the span is dropped, never exported. */
  discard(traceParent: string): void {
    this.pending.delete(spanIdOf(traceParent));
  }

  /** The engine's onCommitted hook. */
  observe(saga: SagaRuntime, events: readonly JournalEvent[]): void {
    const traceParent = saga.definition.traceParent;
    if (traceParent === undefined) return;
    let span = this.live.get(saga.id);
    if (span === undefined) {
      const spanId = spanIdOf(traceParent);
      span = this.pending.get(spanId);
      if (span !== undefined) {
        this.pending.delete(spanId);
        span.setAttribute('saga.id', saga.id);
      } else {
        span = this.tracer.startSpan(
          `saga ${saga.definition.name}`,
          { attributes: { 'saga.id': saga.id, 'saga.name': saga.definition.name, 'saga.resumed': true } },
          contextFromTraceparent(traceParent),
        );
      }
      this.live.set(saga.id, span);
    }
    for (const e of events) {
      if (e.t !== 'finish' && e.t !== 'resolve') continue;
      const outcome = e.t === 'finish' ? e.state : 'RESOLVED';
      span.setAttributes({ 'saga.outcome': outcome, 'saga.failed_step': saga.failedStep });
      if (outcome === 'COMPENSATED' || outcome === 'MANUAL') span.setStatus({ code: SpanStatusCode.ERROR, message: saga.reason });
      span.end(e.at);
      this.live.delete(saga.id);
      return;
    }
  }

  /** At shutdown: the spans of sagas still in motion end, marked suspended, so that they are exported. */
  close(): void {
    for (const span of [...this.pending.values(), ...this.live.values()]) {
      span.setAttribute('saga.suspended', true);
      span.end();
    }
    this.pending.clear();
    this.live.clear();
  }
}

function spanIdOf(traceParent: string): string {
  return traceParent.split('-')[2] ?? '';
}
