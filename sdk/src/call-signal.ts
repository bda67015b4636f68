import type { Deadline } from '@grpc/grpc-js';

/** The part of a grpc-js server call this module needs. */
interface CancellableCall {
  readonly cancelled: boolean;
  on(event: 'cancelled', listener: () => void): unknown;
  removeListener(event: 'cancelled', listener: () => void): unknown;
}

/** An AbortSignal tied to one server call, plus the means to release its timer and listener. */
export interface CallSignal {
  readonly signal: AbortSignal;
  /** Aborts with the given reason (e.g. the server is shutting down). */
  abort(reason: unknown): void;
  /** Releases the deadline timer and the call listener; call once the handler has settled. */
  dispose(): void;
}

// setTimeout treats larger delays as 1 ms.
const MAX_TIMER_MS = 2_147_483_647;
// Timers may fire a little early or late; a cancellation this close to the deadline is the deadline.
const DEADLINE_TOLERANCE_MS = 10;

/**
 * The earliest of the deadline carried in the request message, the gRPC
 * call's own deadline and now + fallbackMs (used only when neither is set),
 * so that every handler has a finite deadline.
 */
export function effectiveDeadline(
  callDeadline: Deadline,
  messageDeadline: Date | undefined,
  fallbackMs: number,
): Date {
  const candidates: number[] = [];
  const callMs = callDeadline instanceof Date ? callDeadline.getTime() : callDeadline;
  if (Number.isFinite(callMs)) candidates.push(callMs);
  if (messageDeadline !== undefined && Number.isFinite(messageDeadline.getTime())) {
    candidates.push(messageDeadline.getTime());
  }
  if (candidates.length === 0) candidates.push(Date.now() + fallbackMs);
  return new Date(Math.min(...candidates));
}

/** Creates a signal aborted when the call is cancelled by the client or when the deadline passes. */
export function createCallSignal(call: CancellableCall, deadline: Date): CallSignal {
  const controller = new AbortController();
  const onCancelled = (): void => {
    // grpc-js cancels a call whose deadline passed too; report that as the timeout it is.
    controller.abort(
      Date.now() >= deadline.getTime() - DEADLINE_TOLERANCE_MS
        ? new DOMException('the call deadline passed', 'TimeoutError')
        : new DOMException('the call was cancelled by the client', 'AbortError'),
    );
  };
  call.on('cancelled', onCancelled);
  if (call.cancelled) onCancelled();

  const delay = Math.min(Math.max(deadline.getTime() - Date.now(), 0), MAX_TIMER_MS);
  const timer = setTimeout(() => {
    controller.abort(new DOMException('the call deadline passed', 'TimeoutError'));
  }, delay);
  // A pending deadline must not keep the process alive.
  timer.unref();

  return {
    signal: controller.signal,
    abort: (reason) => controller.abort(reason),
    dispose: () => {
      clearTimeout(timer);
      call.removeListener('cancelled', onCancelled);
    },
  };
}
