// One unary gRPC call as the SDK's clients make it: a deadline on every call,
// an AbortSignal that cancels it, and errors as SagaClientError (by status
// code, never by message text).

import { Metadata, status, type CallOptions as GrpcCallOptions, type ClientUnaryCall, type ServiceError } from '@grpc/grpc-js';
import { abortReason } from './abort-reason.js';
import { SagaClientError, toSagaClientError } from './saga-client-error.js';

/** Issues the generated client's call with the given metadata, options and callback. */
export type UnaryInvoke<Res> = (
  metadata: Metadata,
  callOptions: Partial<GrpcCallOptions>,
  callback: (err: ServiceError | null, response?: Res) => void,
) => ClientUnaryCall;

/** Makes the call with `deadlineMs`, cancelled by `signal`; rejects with SagaClientError. */
export function unaryCall<Res>(
  method: string,
  metadata: Metadata,
  deadlineMs: number,
  signal: AbortSignal | undefined,
  invoke: UnaryInvoke<Res>,
): Promise<Res> {
  if (signal?.aborted) return Promise.reject(abortReason(signal));
  return new Promise<Res>((resolve, reject) => {
    const onAbort = (): void => {
      call.cancel();
      if (signal) reject(abortReason(signal));
    };
    const call = invoke(metadata, { deadline: new Date(Date.now() + deadlineMs) }, (err, response) => {
      signal?.removeEventListener('abort', onAbort);
      if (err) reject(toSagaClientError(method, err));
      else if (response === undefined) reject(new SagaClientError(method, status.INTERNAL, 'empty response'));
      else resolve(response);
    });
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** gRPC metadata carrying the client's fixed call metadata (e.g. the operator token). */
export function callMetadata(entries: Readonly<Record<string, string>>): Metadata {
  const metadata = new Metadata();
  for (const [key, value] of Object.entries(entries)) metadata.set(key, value);
  return metadata;
}
