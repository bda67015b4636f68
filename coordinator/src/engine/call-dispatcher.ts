// Participant calls in flight: sends them, hands their results back, and
// drains them (bounded) at shutdown.

import type { DispatchEvent } from '../domain/journal-event.js';
import type { InvokeResult, ParticipantInvoker, StepInvocation } from './participant-invoker.js';
import type { SagaRuntime } from './saga-runtime.js';

export type ResultHandler = (saga: SagaRuntime, d: DispatchEvent, result: InvokeResult) => void;

export class CallDispatcher {
  private readonly calls = new Set<Promise<void>>();
  private readonly abort = new AbortController();

  constructor(
    private readonly invoker: ParticipantInvoker,
    private readonly onResult: ResultHandler,
    /** A result handler threw (a failed durable write): fatal. */
    private readonly onError: (err: unknown) => void,
  ) {}

  send(saga: SagaRuntime, d: DispatchEvent, call: StepInvocation): void {
    const p = this.invoker
      .invoke(call, this.abort.signal)
      .then((result) => {
        // After an abandoned drain the outcome stays in doubt for the next start.
        if (this.abort.signal.aborted) return;
        this.onResult(saga, d, result);
      })
      .catch((err: unknown) => this.onError(err))
      .finally(() => this.calls.delete(p));
    this.calls.add(p);
  }

  /** Waits up to `timeoutMs` for the calls in flight, then aborts the rest; returns how many it abandoned. */
  async drain(timeoutMs: number): Promise<number> {
    const drained = Promise.allSettled([...this.calls]).then(() => true);
    const timedOut = new Promise<boolean>((r) => setTimeout(() => r(false), timeoutMs).unref());
    if (await Promise.race([drained, timedOut])) return 0;
    const abandoned = this.calls.size;
    this.abort.abort();
    return abandoned;
  }
}
