import { status, type ServerErrorResponse } from '@grpc/grpc-js';

// Status details travel in a header: keep them short.
const MAX_DETAILS = 1_000;

/**
 * The gRPC error a participant answers for a handler error that is not a
 * TerminalError. Every such error is transient for the coordinator (it
 * retries); the code only tells operators why: DEADLINE_EXCEEDED or CANCELLED
 * when the call's signal fired, UNAVAILABLE otherwise.
 */
export function transientErrorStatus(err: unknown, signal: AbortSignal): ServerErrorResponse {
  const message = err instanceof Error ? err.message : String(err);
  const details = message.length > MAX_DETAILS ? `${message.slice(0, MAX_DETAILS)}…` : message;
  let code = status.UNAVAILABLE;
  if (signal.aborted) {
    const reason: unknown = signal.reason;
    code = reason instanceof DOMException && reason.name === 'TimeoutError' ? status.DEADLINE_EXCEEDED : status.CANCELLED;
  }
  return Object.assign(new Error(details), { code, details });
}
