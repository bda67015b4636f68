// The engine's view of a participant call. The gRPC implementation lives at the
// edge (grpc/grpc-participant-invoker.ts); tests can inject their own.

import type { Operation } from '../domain/saga-types.js';

export interface StepInvocation {
  readonly participant: string;
  readonly operation: Operation;
  readonly sagaId: string;
  readonly sagaName: string;
  readonly stepName: string;
  readonly action: string;
  readonly payload: Buffer;
  readonly attempt: number;
  /** RetrySagas of the saga so far: a stored FAILED compensation is run again at a later epoch. */
  readonly compensationEpoch: number;
  /** Stable across retries and re-sends of the same operation. */
  readonly idempotencyKey: string;
  /** Epoch ms after which the call is abandoned. */
  readonly deadline: number;
  readonly outputs: ReadonlyMap<string, Buffer>;
  readonly metadata: Readonly<Record<string, string>>;
  /**
   * W3C traceparent sent with the call as is (tracing on: the saga span's,
   * replaced by the call span's once the tracer wrapped the call); absent = a
   * "traceparent" metadata entry continued with a new span id, else a trace
   * derived from the saga id.
   */
  readonly traceparent?: string;
}

/**
 * What came back. `failed` is a business failure (do not retry); `error` is
 * transient (gRPC error, timeout, malformed answer) and is retried by policy.
 */
export type InvokeResult =
  | { readonly kind: 'succeeded'; readonly output: Buffer }
  | { readonly kind: 'failed'; readonly code: string; readonly message: string }
  | { readonly kind: 'error'; readonly code: string; readonly message: string };

export interface ParticipantInvoker {
  /** Never rejects: every failure is an InvokeResult. */
  invoke(call: StepInvocation, signal: AbortSignal): Promise<InvokeResult>;
  close(): Promise<void>;
}
