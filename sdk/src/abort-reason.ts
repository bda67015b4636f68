/**
 * The error to reject with when a caller's signal aborts: its reason when that
 * is an Error (AbortSignal.timeout(), abort(new Error(...))), else an AbortError.
 */
export function abortReason(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  if (reason instanceof Error) return reason;
  return new DOMException(typeof reason === 'string' ? reason : 'This operation was aborted', 'AbortError');
}
