// A child span of the saga's span per Execute/Compensate (TCC: Try/Confirm/Cancel) call (participant,
// action, attempt, outcome); the call carries that span's traceparent, so the
// participant's own spans hang under it.

import { SpanKind, SpanStatusCode, type Tracer } from '@opentelemetry/api';
import type { InvokeResult, ParticipantInvoker, StepInvocation } from '../engine/participant-invoker.js';
import { PARTICIPANT_METHODS } from '../grpc/participant-methods.js';
import { contextFromTraceparent, traceparentOf } from './trace-context.js';

export class TracingParticipantInvoker implements ParticipantInvoker {
  constructor(
    private readonly inner: ParticipantInvoker,
    private readonly tracer: Tracer,
  ) {}

  async invoke(call: StepInvocation, signal: AbortSignal): Promise<InvokeResult> {
    // No traceparent: the saga was started while tracing was off.
    if (call.traceparent === undefined) return this.inner.invoke(call, signal);
    const { service, method } = PARTICIPANT_METHODS[call.operation];
    const span = this.tracer.startSpan(
      `${method} ${call.stepName}`,
      {
        kind: SpanKind.CLIENT,
        attributes: {
          'rpc.system': 'grpc',
          'rpc.service': service,
          'rpc.method': method,
          'saga.id': call.sagaId,
          'saga.name': call.sagaName,
          'saga.step': call.stepName,
          'saga.participant': call.participant,
          'saga.action': call.action,
          'saga.operation': call.operation,
          'saga.attempt': call.attempt,
        },
      },
      contextFromTraceparent(call.traceparent),
    );
    const result = await this.inner.invoke({ ...call, traceparent: traceparentOf(span.spanContext()) }, signal);
    span.setAttribute('saga.call.outcome', result.kind);
    if (result.kind !== 'succeeded') {
      span.setAttribute('saga.call.error_code', result.code);
      span.setStatus({ code: SpanStatusCode.ERROR, message: result.message });
    }
    span.end();
    return result;
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
