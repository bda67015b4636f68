// Resuming sagas loaded from the log: calls whose intent is durable but whose
// result is not are in doubt and re-sent, a slice per event-loop turn.

import type { DispatchEvent, JournalEvent } from '../domain/journal-event.js';
import { applyEvent, type SagaRuntime } from './saga-runtime.js';

/**
 * In-doubt calls re-sent per event-loop turn at recovery. Small slices let the
 * loop flush each slice's HTTP/2 frames before the next: 100,000 calls reached
 * the participant in 9.6–9.7 s with 64, 10.2 s with 32, 10.8 s with 256 and
 * 11.5 s with 1,024 (`npm run bench -- --scenario recovery`).
 */
const RESEND_SLICE = 64;

/**
 * Marks each in-doubt call of a recovered saga as re-sent (applied to `saga`)
 * and returns those events with the dispatches to send again.
 */
export function markInDoubt(saga: SagaRuntime, now: number): { events: JournalEvent[]; resends: DispatchEvent[] } {
  // A call whose intent is durable but whose result is not: its outcome is
  // unknown, so it is sent again with the same attempt and idempotency key.
  const events: JournalEvent[] = [];
  const resends: DispatchEvent[] = [];
  saga.steps.forEach((step, s) => {
    if (step.inFlight === undefined) return;
    const op = step.inFlight;
    const branch = saga.tcc?.branch(s);
    const n = branch !== undefined && (op === 'try' || op === 'confirm' || op === 'cancel') ? branch[op].attempts : op === 'execute' ? step.execAttempts : step.compAttempts;
    const e: JournalEvent = { t: 'resent', at: now, s, op, n };
    applyEvent(saga, e);
    events.push(e);
    resends.push({ t: 'dispatch', at: now, s, op, n });
  });
  return { events, resends };
}

/**
 * Sends recovered in-doubt calls a slice per event-loop turn, so that the
 * connections drain and answers are read while a large backlog goes out.
 */
export class ResendPump {
  private queue: [SagaRuntime, DispatchEvent][] = [];
  private head = 0;

  constructor(
    private readonly send: (saga: SagaRuntime, d: DispatchEvent) => void,
    /** False once the engine stops: the rest stays in doubt for the next start. */
    private readonly running: () => boolean,
  ) {}

  push(saga: SagaRuntime, resends: readonly DispatchEvent[]): void {
    if (resends.length === 0) return;
    for (const d of resends) this.queue.push([saga, d]);
    // The queue held only this saga's calls: no slice is scheduled, start one.
    if (this.queue.length - this.head === resends.length) setImmediate(() => this.slice());
  }

  private slice(): void {
    const queue = this.queue;
    const end = Math.min(queue.length, this.head + RESEND_SLICE);
    for (let i = this.head; i < end && this.running(); i++) {
      const [saga, d] = queue[i] as [SagaRuntime, DispatchEvent];
      this.send(saga, d);
    }
    this.head = end;
    if (end < queue.length && this.running()) {
      setImmediate(() => this.slice());
      return;
    }
    this.queue = [];
    this.head = 0;
  }
}
