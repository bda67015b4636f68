// Decides what a saga does next from its state and the time: which calls to
// dispatch, when compensation starts, when the saga is finished. Pure: it
// returns journal events (already applied to the saga) and the next wake-up
// time; the engine makes them durable and performs the calls.

import { backoffDelayMs } from './backoff.js';
import type { InvokeResult } from './participant-invoker.js';
import type { JournalEvent, ResultEvent } from '../domain/journal-event.js';
import { applyEvent, type SagaRuntime } from './saga-runtime.js';
import type { Operation, SagaDefinition } from '../domain/saga-types.js';

export interface Decision {
  readonly events: JournalEvent[];
  /** Earliest instant the saga must be looked at again (backoff, deadline), if any. */
  readonly wakeAt: number | undefined;
}

interface StepGraph {
  /** For each step, the steps that must succeed before it runs. */
  readonly requires: readonly (readonly number[])[];
  /** For each step, the steps that must be compensated before it is. */
  readonly dependents: readonly (readonly number[])[];
}

const graphs = new WeakMap<SagaDefinition, StepGraph>();
/** A sequential saga's graph depends only on its number of steps: one per length, shared. */
const sequences = new Map<number, StepGraph>();

/** Sequential sagas chain each step to the previous one; graphs use depends_on. */
export function stepGraph(def: SagaDefinition): StepGraph {
  const cached = def.graph ? graphs.get(def) : sequences.get(def.steps.length);
  if (cached !== undefined) return cached;
  const index = new Map(def.steps.map((s, i) => [s.name, i]));
  const requires = def.steps.map((s, i) =>
    def.graph ? s.dependsOn.map((d) => index.get(d) ?? -1).filter((d) => d >= 0) : i === 0 ? [] : [i - 1],
  );
  const dependents: number[][] = def.steps.map(() => []);
  requires.forEach((reqs, i) => reqs.forEach((r) => dependents[r]?.push(i)));
  const graph = { requires, dependents };
  if (def.graph) graphs.set(def, graph);
  else sequences.set(def.steps.length, graph);
  return graph;
}

/** Runs decision rounds until the saga has nothing more to decide now. */
export function decide(saga: SagaRuntime, now: number): Decision {
  const events: JournalEvent[] = [];
  const emit = (e: JournalEvent): void => {
    applyEvent(saga, e);
    events.push(e);
  };
  // Each round either emits events that change the state or stops; a saga has
  // few transitions, so this is bounded (forward round, compensate, finish).
  for (let round = 0; round < 8; round++) {
    const before = events.length;
    if (saga.state === 'RUNNING') decideForward(saga, now, emit);
    else if (saga.state === 'COMPENSATING') decideCompensation(saga, now, emit);
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

function decideCompensation(saga: SagaRuntime, now: number, emit: (e: JournalEvent) => void): void {
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
  const moving = saga.steps.some((s) => s.inFlight !== undefined || (s.comp === 'RUNNING' && s.nextAt !== undefined));
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

function failureReason(saga: SagaRuntime, i: number): string {
  const name = saga.definition.steps[i]?.name ?? '';
  const last = saga.step(i).lastError;
  return last === '' ? `step ${name} failed` : `step ${name} failed: ${last}`;
}

function compensationReason(saga: SagaRuntime, i: number): string {
  return saga.step(i).lastError || 'retry policy exhausted';
}
