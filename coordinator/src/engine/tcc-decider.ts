// Decides what a TCC transaction does next, the TCC counterpart of
// saga-decider.ts. Phase 1 (TRY): Try every branch in order, or as a graph by
// depends_on, each retried by its policy; a FAILED Try, exhausted attempts, the
// deadline or an abort end it with Cancel; every Try succeeded ends it with
// Confirm. Phase 2: Confirm (or Cancel) every branch in parallel, each retried
// with capped backoff by its compensation policy; past it the transaction goes
// to MANUAL. Pure: returns journal events (already applied) and the next
// wake-up time; whoever runs it makes them durable and performs the calls.

import { backoffDelayMs } from './backoff.js';
import type { InvokeResult } from './participant-invoker.js';
import { stepGraph } from './step-graph.js';
import { applyTccEvent, type TccJournalEvent, type TccOp, type TccResultEvent, type TccRuntime } from './tcc-runtime.js';

export interface TccDecision {
  readonly events: TccJournalEvent[];
  readonly wakeAt: number | undefined;
}

export interface TccDecideOptions {
  /**
   * False while the coordinator shuts down: no call is dispatched (each is
   * decided again at the next start); results, phases and outcomes still are.
   */
  readonly dispatch?: boolean;
}

/** Runs decision rounds until the transaction has nothing more to decide now. */
export function decideTcc(tx: TccRuntime, now: number, options: TccDecideOptions = {}): TccDecision {
  const events: TccJournalEvent[] = [];
  const dispatch = options.dispatch ?? true;
  let held = false;
  const emit = (e: TccJournalEvent): void => {
    if (e.t === 'dispatch' && !dispatch) {
      // The branch counts as moving: it is not what blocks the transaction.
      held = true;
      return;
    }
    applyTccEvent(tx, e);
    events.push(e);
  };
  // Bounded: a round either changes the phase or state, or dispatches and stops.
  for (let round = 0; round < 8; round++) {
    const before = events.length;
    if (tx.isActive()) {
      if (tx.phase === 'TRY') decideTry(tx, now, emit);
      else decideSecondPhase(tx, now, emit, () => held);
    }
    if (events.length === before) break;
  }
  return { events, wakeAt: nextWake(tx) };
}

function decideTry(tx: TccRuntime, now: number, emit: (e: TccJournalEvent) => void): void {
  const def = tx.identity.definition;
  const failed = tx.branches.findIndex((b) => b.try.status === 'FAILED');
  if (failed >= 0) {
    const name = def.steps[failed]?.name ?? '';
    const last = tx.branch(failed).lastError;
    emit({ t: 'phase', at: now, phase: 'CANCEL', cause: 'failure', step: name, reason: `try of branch ${name} failed${last === '' ? '' : `: ${last}`}` });
    return;
  }
  if (tx.identity.deadlineAt !== undefined && now >= tx.identity.deadlineAt) {
    emit({ t: 'phase', at: now, phase: 'CANCEL', cause: 'deadline', step: '', reason: 'transaction deadline exceeded in the try phase' });
    return;
  }
  if (tx.branches.every((b) => b.try.status === 'SUCCEEDED')) {
    emit({ t: 'phase', at: now, phase: 'CONFIRM' });
    return;
  }
  const { requires } = stepGraph(def);
  tx.branches.forEach((b, i) => {
    if (b.inFlight !== undefined) return;
    if (b.try.status === 'PENDING') {
      if ((requires[i] ?? []).every((r) => tx.branches[r]?.try.status === 'SUCCEEDED')) emit({ t: 'dispatch', at: now, s: i, op: 'try', n: 1 });
    } else if (b.try.status === 'RUNNING' && b.nextAt !== undefined && b.nextAt <= now) {
      emit({ t: 'dispatch', at: now, s: i, op: 'try', n: b.try.attempts + 1 });
    }
  });
}

/** Confirm or Cancel every branch, in parallel; finish when all are done, MANUAL when one gave up. */
function decideSecondPhase(tx: TccRuntime, now: number, emit: (e: TccJournalEvent) => void, held: () => boolean): void {
  const name: TccOp = tx.phaseOp();
  const done = (i: number): boolean => {
    const s = tx.branch(i)[name].status;
    return s === 'SUCCEEDED' || s === 'SKIPPED';
  };
  tx.branches.forEach((b, i) => {
    // A Try still outstanding is waited for (bounded by its attempt timeout), so
    // that a branch has one call at a time; its Cancel follows.
    if (b.inFlight !== undefined) return;
    const o = b[name];
    if (o.status === 'PENDING') emit({ t: 'dispatch', at: now, s: i, op: name, n: o.attempts + 1 });
    else if (o.status === 'RUNNING' && b.nextAt !== undefined && b.nextAt <= now) emit({ t: 'dispatch', at: now, s: i, op: name, n: o.attempts + 1 });
  });
  if (tx.branches.every((_, i) => done(i))) {
    emit({ t: 'finish', at: now, state: tx.phase === 'CONFIRM' ? 'COMPLETED' : 'COMPENSATED', reason: '' });
    return;
  }
  const failed = tx.branches.findIndex((b) => b[name].status === 'FAILED');
  const moving = held() || tx.branches.some((b) => b.inFlight !== undefined || (b[name].status === 'RUNNING' && b.nextAt !== undefined));
  if (failed >= 0 && !moving) {
    const branch = tx.identity.definition.steps[failed]?.name ?? '';
    emit({ t: 'finish', at: now, state: 'MANUAL', reason: `${name} of branch ${branch} gave up: ${tx.branch(failed).lastError || 'retry policy exhausted'}` });
  }
}

function nextWake(tx: TccRuntime): number | undefined {
  if (!tx.isActive()) return undefined;
  let wake: number | undefined;
  for (const b of tx.branches) {
    if (b.nextAt !== undefined && b.inFlight === undefined && (wake === undefined || b.nextAt < wake)) wake = b.nextAt;
  }
  const deadline = tx.identity.deadlineAt;
  if (tx.phase === 'TRY' && deadline !== undefined && (wake === undefined || deadline < wake)) wake = deadline;
  return wake;
}

/**
 * Turns a call's result into a journal event: a transient error of Try is
 * retried while the Try phase lasts, within its policy and the deadline; of
 * Confirm/Cancel within the compensation policy, counted from the last RetrySaga.
 */
export function tccResultEvent(tx: TccRuntime, s: number, op: TccOp, n: number, result: InvokeResult, now: number, random: () => number): TccResultEvent {
  if (result.kind === 'succeeded') {
    return { t: 'result', at: now, s, op, n, o: 'S', out: result.output.length > 0 ? result.output : undefined };
  }
  if (result.kind === 'failed') return { t: 'result', at: now, s, op, n, o: 'F', code: result.code, msg: result.message };
  const def = tx.identity.definition.steps[s];
  let next: number | undefined;
  if (def !== undefined) {
    if (op === 'try') {
      if (tx.phase === 'TRY' && tx.state === 'RUNNING' && n < def.retry.maxAttempts) {
        const at = now + backoffDelayMs(def.retry, n, random);
        const deadline = tx.identity.deadlineAt;
        next = deadline === undefined ? at : Math.min(at, deadline);
      }
    } else {
      const used = n - tx.branch(s)[op].base;
      if (used < def.compensationRetry.maxAttempts) next = now + backoffDelayMs(def.compensationRetry, used, random);
    }
  }
  const e: TccResultEvent = { t: 'result', at: now, s, op, n, o: 'E', code: result.code, msg: result.message };
  return next === undefined ? e : { ...e, next };
}

/** AbortSaga: ends the Try phase with Cancel. Refused once the transaction decided to confirm. */
export function tccAbortEvent(tx: TccRuntime, now: number, reason: string): TccJournalEvent | { refused: string } {
  if (!tx.isActive()) return { refused: `transaction is ${tx.state}` };
  if (tx.phase === 'CONFIRM') return { refused: 'every try succeeded and the transaction is confirming; it can no longer be cancelled' };
  if (tx.phase === 'CANCEL') return { refused: 'the transaction is already cancelling' };
  return { t: 'phase', at: now, phase: 'CANCEL', cause: 'abort', step: '', reason: reason === '' ? 'aborted by an operator' : `aborted: ${reason}` };
}
