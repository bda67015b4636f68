// Decides what a saga does next from its state and the time: which calls to
// dispatch, when compensation starts, when the saga is finished. Pure: it
// returns journal events (already applied to the saga) and the next wake-up
// time; the engine makes them durable and performs the calls.

import { backoffDelayMs } from './backoff.js';
import type { InvokeResult } from './participant-invoker.js';
import type { JournalEvent, ResultEvent } from '../domain/journal-event.js';
import { applyEvent, mirrorTcc, type SagaRuntime } from './saga-runtime.js';
import type { Operation, TccOperation } from '../domain/saga-types.js';
import { stepGraph } from './step-graph.js';
import { decideTcc, tccAbortEvent, tccResultEvent } from './tcc-decider.js';

export { stepGraph };

export interface Decision {
  readonly events: JournalEvent[];
  /** Earliest instant the saga must be looked at again (backoff, deadline), if any. */
  readonly wakeAt: number | undefined;
}

export interface DecideOptions {
  /**
   * False while the coordinator shuts down: no call is dispatched (each is
   * decided again at the next start), but results, compensation starts and
   * outcomes are still decided. Default true.
   */
  readonly dispatch?: boolean;
}

/** Runs decision rounds until the saga has nothing more to decide now. */
export function decide(saga: SagaRuntime, now: number, options: DecideOptions = {}): Decision {
  if (saga.tcc !== undefined) {
    const d = decideTcc(saga.tcc, now, options);
    mirrorTcc(saga);
    return d;
  }
  const events: JournalEvent[] = [];
  const dispatch = options.dispatch ?? true;
  let held = false;
  const emit = (e: JournalEvent): void => {
    if (e.t === 'dispatch' && !dispatch) {
      // The step counts as moving: it is not what blocks the saga.
      held = true;
      return;
    }
    applyEvent(saga, e);
    events.push(e);
  };
  // Each round either emits events that change the state or stops; a saga has
  // few transitions, so this is bounded (forward round, compensate, finish).
  for (let round = 0; round < 8; round++) {
    const before = events.length;
    if (saga.state === 'RUNNING') decideForward(saga, now, emit);
    else if (saga.state === 'COMPENSATING') decideCompensation(saga, now, emit, () => held);
    if (events.length === before) break;
  }
  return { events, wakeAt: nextWake(saga) };
}

function decideForward(saga: SagaRuntime, now: number, emit: (e: JournalEvent) => void): void {
  const { requires } = stepGraph(saga.definition);
  const failed = saga.steps.findIndex((s) => s.exec === 'FAILED');
  if (failed >= 0) {
    const name = saga.definition.steps[failed]?.name ?? '';
    emit({ t: 'compensate', at: now, cause: 'failure', step: name, reason: failureReason(saga, failed) });
    return;
  }
  if (saga.deadlineAt !== undefined && now >= saga.deadlineAt) {
    emit({ t: 'compensate', at: now, cause: 'deadline', step: '', reason: 'saga deadline exceeded' });
    return;
  }
  if (saga.steps.every((s) => s.exec === 'SUCCEEDED')) {
    emit({ t: 'finish', at: now, state: 'COMPLETED', reason: '' });
    return;
  }
  saga.steps.forEach((step, i) => {
    if (step.inFlight !== undefined) return;
    if (step.exec === 'PENDING') {
      const ready = (requires[i] ?? []).every((r) => saga.steps[r]?.exec === 'SUCCEEDED');
      if (ready) emit({ t: 'dispatch', at: now, s: i, op: 'execute', n: 1 });
    } else if (step.exec === 'RUNNING' && step.nextAt !== undefined && step.nextAt <= now) {
      emit({ t: 'dispatch', at: now, s: i, op: 'execute', n: step.execAttempts + 1 });
    }
  });
}

function decideCompensation(saga: SagaRuntime, now: number, emit: (e: JournalEvent) => void, held: () => boolean): void {
  // Compensating a step while its Execute is still outstanding would race it;
  // the call is bounded by its attempt timeout, so wait for it.
  if (saga.steps.some((s) => s.inFlight === 'execute')) return;
  const { dependents } = stepGraph(saga.definition);
  const done = (i: number): boolean => {
    const c = saga.steps[i]?.comp;
    return c === 'SUCCEEDED' || c === 'SKIPPED';
  };
  let blocked = false;
  for (let i = saga.steps.length - 1; i >= 0; i--) {
    const step = saga.step(i);
    if (step.inFlight !== undefined) continue;
    if (step.comp === 'PENDING') {
      if ((dependents[i] ?? []).every(done)) emit({ t: 'dispatch', at: now, s: i, op: 'compensate', n: step.compAttempts + 1 });
    } else if (step.comp === 'RUNNING' && step.nextAt !== undefined && step.nextAt <= now) {
      emit({ t: 'dispatch', at: now, s: i, op: 'compensate', n: step.compAttempts + 1 });
    } else if (step.comp === 'FAILED') {
      blocked = true;
    }
  }
  if (saga.steps.every((_, i) => done(i))) {
    emit({ t: 'finish', at: now, state: 'COMPENSATED', reason: '' });
    return;
  }
  const moving = held() || saga.steps.some((s) => s.inFlight !== undefined || (s.comp === 'RUNNING' && s.nextAt !== undefined));
  if (blocked && !moving) {
    const i = saga.steps.findIndex((s) => s.comp === 'FAILED');
    const name = saga.definition.steps[i]?.name ?? '';
    emit({ t: 'finish', at: now, state: 'MANUAL', reason: `compensation of step ${name} gave up: ${compensationReason(saga, i)}` });
  }
}

function nextWake(saga: SagaRuntime): number | undefined {
  if (!saga.isActive()) return undefined;
  let wake: number | undefined;
  for (const step of saga.steps) {
    if (step.nextAt !== undefined && step.inFlight === undefined && (wake === undefined || step.nextAt < wake)) wake = step.nextAt;
  }
  if (saga.state === 'RUNNING' && saga.deadlineAt !== undefined && (wake === undefined || saga.deadlineAt < wake)) {
    wake = saga.deadlineAt;
  }
  return wake;
}

/**
 * Turns a call's result into a journal event, deciding whether a transient
 * error is retried (and when) or has exhausted the step's policy.
 */
export function resultEvent(
  saga: SagaRuntime,
  s: number,
  op: Operation,
  n: number,
  result: InvokeResult,
  now: number,
  random: () => number,
): ResultEvent {
  if (saga.tcc !== undefined) return tccResultEvent(saga.tcc, s, op as TccOperation, n, result, now, random);
  if (result.kind === 'succeeded') {
    return { t: 'result', at: now, s, op, n, o: 'S', out: result.output.length > 0 ? result.output : undefined };
  }
  if (result.kind === 'failed') {
    return { t: 'result', at: now, s, op, n, o: 'F', code: result.code, msg: result.message };
  }
  const def = saga.definition.steps[s];
  const step = saga.step(s);
  let next: number | undefined;
  if (def !== undefined) {
    if (op === 'execute') {
      // Forward retries only while the saga still moves forward and within its deadline.
      if (saga.state === 'RUNNING' && n < def.retry.maxAttempts) {
        // A retry due after the deadline waits for the deadline instead, so the
        // saga compensates for the deadline rather than blaming the step.
        const at = now + backoffDelayMs(def.retry, n, random);
        next = saga.deadlineAt === undefined ? at : Math.min(at, saga.deadlineAt);
      }
    } else if (n - step.compBase < def.compensationRetry.maxAttempts) {
      next = now + backoffDelayMs(def.compensationRetry, n - step.compBase, random);
    }
  }
  const e: ResultEvent = { t: 'result', at: now, s, op, n, o: 'E', code: result.code, msg: result.message };
  return next === undefined ? e : { ...e, next };
}

/**
 * AbortSaga of an active saga: compensation (TCC: the Cancel phase) begins.
 * A TCC transaction that decided to confirm refuses, saying why.
 */
export function abortEvent(saga: SagaRuntime, now: number, reason: string): JournalEvent | { readonly refused: string } {
  if (saga.tcc !== undefined) return tccAbortEvent(saga.tcc, now, reason);
  return { t: 'compensate', at: now, cause: 'abort', step: '', reason: reason || 'aborted by request' };
}

function failureReason(saga: SagaRuntime, i: number): string {
  const name = saga.definition.steps[i]?.name ?? '';
  const last = saga.step(i).lastError;
  return last === '' ? `step ${name} failed` : `step ${name} failed: ${last}`;
}

function compensationReason(saga: SagaRuntime, i: number): string {
  return saga.step(i).lastError || 'retry policy exhausted';
}
