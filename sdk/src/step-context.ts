import type { StepCall } from '@saga/proto';
import type { Logger } from './logger.js';
import type { StepContext } from './step-handler.js';

/** Converts the generated StepCall into the SDK's handler context (the generated type stops here). */
export function toStepContext(
  call: StepCall,
  deadline: Date,
  signal: AbortSignal,
  logger: Logger,
): StepContext {
  const outputs = new Map<string, Buffer>();
  for (const [step, bytes] of Object.entries(call.outputs)) outputs.set(step, Buffer.from(bytes));
  return {
    sagaId: call.sagaId,
    sagaName: call.sagaName,
    step: call.stepName,
    action: call.action,
    attempt: call.attempt,
    compensationEpoch: call.compensationEpoch,
    idempotencyKey: call.idempotencyKey,
    deadline,
    signal,
    payload: Buffer.from(call.payload),
    outputs,
    metadata: Object.freeze({ ...call.metadata }),
    logger: logger.child({
      sagaId: call.sagaId,
      step: call.stepName,
      action: call.action,
      attempt: call.attempt,
      ...(call.compensationEpoch > 0 ? { compensationEpoch: call.compensationEpoch } : {}),
    }),
  };
}
