// Continues the coordinator's trace in a participant: each Execute/Compensate (or TCC Try/Confirm/Cancel)
// call runs in a SERVER span whose parent is the call's `traceparent` header
// (the coordinator's span of that call), with the handler inside its context so
// that the handler's own spans hang under it. Uses the global OpenTelemetry API:
// without an SDK registered by the application it records nothing.

import type { Metadata } from '@grpc/grpc-js';
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, context, propagation, trace } from '@opentelemetry/api';
import { StepOutcome, type StepCall, type StepResult } from '@saga/proto';

const TRACER_NAME = '@saga/sdk';

const METHODS = { execute: 'Execute', compensate: 'Compensate', try: 'Try', confirm: 'Confirm', cancel: 'Cancel' } as const;
const SERVICES = { execute: 'saga.v1.Participant', compensate: 'saga.v1.Participant', try: 'saga.v1.TccParticipant', confirm: 'saga.v1.TccParticipant', cancel: 'saga.v1.TccParticipant' } as const;

export function runInStepSpan(
  operation: 'execute' | 'compensate' | 'try' | 'confirm' | 'cancel',
  stepCall: StepCall,
  metadata: Metadata,
  run: () => Promise<StepResult>,
): Promise<StepResult> {
  const carrier: Record<string, string> = {};
  for (const [key, value] of Object.entries(metadata.getMap())) if (typeof value === 'string') carrier[key] = value;
  const parent = propagation.extract(ROOT_CONTEXT, carrier);
  const method = METHODS[operation];
  const span = trace.getTracer(TRACER_NAME).startSpan(
    `${method} ${stepCall.stepName}`,
    {
      kind: SpanKind.SERVER,
      attributes: {
        'rpc.system': 'grpc',
        'rpc.service': SERVICES[operation],
        'rpc.method': method,
        'saga.id': stepCall.sagaId,
        'saga.name': stepCall.sagaName,
        'saga.step': stepCall.stepName,
        'saga.action': stepCall.action,
        'saga.attempt': stepCall.attempt,
      },
    },
    parent,
  );
  return context.with(trace.setSpan(parent, span), run).then(
    (result) => {
      const failed = result.outcome === StepOutcome.STEP_OUTCOME_FAILED;
      span.setAttribute('saga.call.outcome', failed ? 'failed' : 'succeeded');
      if (failed) {
        span.setAttribute('saga.call.error_code', result.errorCode);
        span.setStatus({ code: SpanStatusCode.ERROR, message: result.errorMessage });
      }
      span.end();
      return result;
    },
    (err: unknown) => {
      span.setAttribute('saga.call.outcome', 'error');
      span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) });
      span.end();
      throw err;
    },
  );
}
