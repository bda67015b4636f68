// Participant calls in flight: sends them, hands their results back, and
// drains them (bounded) at shutdown.

import type { DispatchEvent } from '../domain/journal-event.js';
import type { InvokeResult, ParticipantInvoker, StepInvocation } from './participant-invoker.js';
import type { SagaRuntime } from './saga-runtime.js';
import { ChurnTable } from '../util/churn-table.js';

export type ResultHandler = (saga: SagaRuntime, d: DispatchEvent, result: InvokeResult) => void;

export class CallDispatcher {
  private readonly calls = new ChurnTable<number, Promise<void>>();
  private callNumber = 0;
  private readonly abort = new AbortController();

  constructor(
    private readonly invoker: ParticipantInvoker,
    private readonly onResult: ResultHandler,
    /** A result handler threw (a failed durable write): fatal. */
    private readonly onError: (err: unknown) => void,
  ) {}

  send(saga: SagaRuntime, d: DispatchEvent, call: StepInvocation): void {
    const n = this.callNumber++;
    const p = this.invoker
      .invoke(call, this.abort.signal)
      .then((result) => {
        // Abandoned by shutdown: the outcome stays in doubt for the next start.
        if (this.abort.signal.aborted) return;
        this.onResult(saga, d, result);
      })
      .catch((err: unknown) => this.onError(err))
      .finally(() => this.calls.delete(n));
    this.calls.set(n, p);
  }

  /**
   * Waits up to `timeoutMs` for the calls in flight, then abandons the rest:
   * they are aborted and a result that still comes back is dropped, never
   * recorded. Returns how many it abandoned.
   */
  async drain(timeoutMs: number): Promise<number> {
    const drained = Promise.allSettled(this.calls.values()).then(() => true);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<boolean>((r) => (timer = setTimeout(() => r(false), timeoutMs)));
    const all = await Promise.race([drained, timedOut]);
    clearTimeout(timer);
    const abandoned = all ? 0 : this.calls.size;
    this.abort.abort();
    return abandoned;
  }
}
