// The participant call a durable dispatch stands for.

import type { DispatchEvent } from '../domain/journal-event.js';
import type { StepInvocation } from './participant-invoker.js';
import type { SagaRuntime } from './saga-runtime.js';

/** The call for dispatch `d` of `saga`, sent at `now`; undefined if the step does not exist. */
export function stepInvocation(saga: SagaRuntime, d: DispatchEvent, now: number): StepInvocation | undefined {
  const def = saga.definition.steps[d.s];
  if (def === undefined) return undefined;
  // Execute and Try go forward (bounded by the deadline); Compensate, Confirm and Cancel settle.
  const forward = d.op === 'execute' || d.op === 'try';
  const policy = forward ? def.retry : def.compensationRetry;
  let deadline = now + policy.attemptTimeoutMs;
  if (forward && saga.deadlineAt !== undefined) deadline = Math.min(deadline, saga.deadlineAt);
  return {
    participant: def.participant,
    operation: d.op,
    sagaId: saga.id,
    sagaName: saga.definition.name,
    stepName: def.name,
    // TCC: Try, Confirm and Cancel all carry the branch's action.
    action: d.op === 'compensate' ? def.compensateAction : def.action,
    payload: def.payload,
    attempt: d.n,
    // Execute runs before any RetrySaga: always 0 there.
    compensationEpoch: saga.compensationEpoch,
    idempotencyKey: `${saga.id}/${def.name}/${d.op}`,
    deadline,
    outputs: saga.outputs(),
    metadata: withEpoch(mergedMetadata(saga, d.s), saga.epoch),
    ...(saga.definition.traceParent !== undefined ? { traceparent: saga.definition.traceParent } : {}),
  };
}

/**
 * The metadata entry (and gRPC header) carrying the saga's fencing epoch to
 * participants when several coordinators share the store: a participant that
 * saw a higher epoch for the saga may refuse a call of a lower one.
 */
export const EPOCH_METADATA_KEY = 'saga-fencing-epoch';

function withEpoch(metadata: Readonly<Record<string, string>>, epoch: number): Readonly<Record<string, string>> {
  return epoch > 0 ? { ...metadata, [EPOCH_METADATA_KEY]: String(epoch) } : metadata;
}

function mergedMetadata(saga: SagaRuntime, s: number): Readonly<Record<string, string>> {
  const step = saga.definition.steps[s];
  if (step === undefined || Object.keys(step.metadata).length === 0) return saga.definition.metadata;
  return { ...saga.definition.metadata, ...step.metadata };
}
