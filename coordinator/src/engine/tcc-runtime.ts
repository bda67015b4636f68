// The state of one TCC transaction as the fold of its journal, the TCC
// counterpart of saga-runtime.ts: the same identity, definition (each step is
// a branch), states and attempt records, and the same event shapes, with the
// operations try / confirm / cancel and a `phase` event in place of
// `compensate`. `applyTccEvent` is the only place that changes it, so a live
// run, recovery and GetSaga agree.

import type { AttemptOutcome, SagaState, StepStatus, TccOperation, TccPhase } from '../domain/saga-types.js';
import { findAttempt, settleAttempt } from './attempt-log.js';
import { internMessage } from './compact-definition.js';
import type { CompensationCause, DispatchEvent, FinishEvent, PhaseEvent, ResentEvent, ResolveEvent, ResultEvent, RetryEvent } from '../domain/journal-event.js';
import { applyResolve, reopen, retriedAgain } from './operator-changes.js';
import type { SagaIdentity } from './saga-identity.js';
import { copySummary } from './transaction-summary.js';

export type TccOp = TccOperation;
export type { TccPhase };
/** Why the Try phase ended in Cancel. */
export type TccCancelCause = CompensationCause;

type WithOp<E> = Omit<E, 'op'> & { readonly op: TccOp };
export type TccDispatchEvent = WithOp<DispatchEvent>;
export type TccResultEvent = WithOp<ResultEvent>;
export type TccResentEvent = WithOp<ResentEvent>;

/** The Try phase is over: Confirm every branch, or Cancel every branch that was tried. */
export type TccPhaseEvent = PhaseEvent;

export type TccJournalEvent = TccDispatchEvent | TccResultEvent | TccResentEvent | TccPhaseEvent | FinishEvent | RetryEvent | ResolveEvent;

/** One operation of one branch. */
export interface TccOpRuntime {
  status: StepStatus;
  /** Highest attempt dispatched. */
  attempts: number;
  /** Attempts before the last RetrySaga: the budget counts from here. */
  base: number;
}

export interface TccBranchRuntime {
  readonly try: TccOpRuntime;
  readonly confirm: TccOpRuntime;
  readonly cancel: TccOpRuntime;
  /** The operation whose RPC is outstanding. */
  inFlight: TccOp | undefined;
  /** When the next attempt is due, while waiting out a backoff. */
  nextAt: number | undefined;
  /** When the branch's latest call went out (its dispatch, or its re-send after a restart). */
  sentAt: number | undefined;
  /** The Try's output, passed to Confirm and Cancel. */
  output: Buffer | undefined;
  /** "CODE: message" of the last failed or errored attempt. */
  lastError: string;
}

export interface TccAttemptRecord {
  readonly operation: TccOp;
  readonly number: number;
  readonly startedAt: number;
  finishedAt: number | undefined;
  outcome: AttemptOutcome;
  errorCode: string;
  errorMessage: string;
  resent: number;
}

const op = (): TccOpRuntime => ({ status: 'PENDING', attempts: 0, base: 0 });

export class TccRuntime {
  /** RUNNING while trying and confirming, COMPENSATING while cancelling; then as for sagas. */
  state: SagaState = 'RUNNING';
  phase: TccPhase = 'TRY';
  failedStep = '';
  reason = '';
  /** Why the Try phase ended in Cancel (phase CANCEL only). */
  cancelCause: TccCancelCause | undefined;
  /** RetrySaga events so far: the compensation epoch of the Confirm/Cancel calls (StepCall.compensation_epoch). */
  retries = 0;
  note = '';
  finishedAt: number | undefined;
  updatedAt: number;
  version = 0;
  readonly branches: TccBranchRuntime[];
  /** Every attempt per branch (GetSaga). */
  readonly attempts: TccAttemptRecord[][];

  /** `keepAttempts` false (a live transaction, not a view): no attempt records are kept. */
  constructor(
    readonly identity: SagaIdentity,
    keepAttempts = true,
  ) {
    this.updatedAt = identity.createdAt;
    this.branches = identity.definition.steps.map(() => ({
      try: op(),
      confirm: op(),
      cancel: op(),
      inFlight: undefined,
      nextAt: undefined,
      sentAt: undefined,
      output: undefined,
      lastError: '',
    }));
    this.attempts = keepAttempts ? identity.definition.steps.map(() => []) : [];
  }

  branch(index: number): TccBranchRuntime {
    const b = this.branches[index];
    if (b === undefined) throw new Error(`transaction ${this.identity.id}: no branch ${index}`);
    return b;
  }

  isActive(): boolean {
    return this.state === 'RUNNING' || this.state === 'COMPENSATING';
  }

  /** The operation the current phase sends (try, confirm or cancel). */
  phaseOp(): TccOp {
    return this.phase === 'TRY' ? 'try' : this.phase === 'CONFIRM' ? 'confirm' : 'cancel';
  }
}

/** Applies one journal event. Deterministic, no I/O. */
export function applyTccEvent(tx: TccRuntime, e: TccJournalEvent): void {
  tx.version += 1;
  tx.updatedAt = e.at;
  switch (e.t) {
    case 'dispatch': {
      const b = tx.branch(e.s);
      b.inFlight = e.op;
      b.nextAt = undefined;
      b.sentAt = e.at;
      b[e.op].status = 'RUNNING';
      b[e.op].attempts = e.n;
      tx.attempts[e.s]?.push({ operation: e.op, number: e.n, startedAt: e.at, finishedAt: undefined, outcome: 'IN_FLIGHT', errorCode: '', errorMessage: '', resent: 0 });
      return;
    }
    case 'result': {
      const b = tx.branch(e.s);
      b.inFlight = undefined;
      b.nextAt = e.o === 'E' ? e.next : undefined;
      if (e.o !== 'S') b.lastError = internMessage(e.code ? `${e.code}: ${e.msg ?? ''}` : (e.msg ?? ''));
      // A Try answered after the phase moved to Cancel still records its outcome;
      // the decider only looks at it to know what it dispatched.
      b[e.op].status = e.o === 'S' ? 'SUCCEEDED' : e.o === 'E' && e.next !== undefined ? 'RUNNING' : 'FAILED';
      if (e.op === 'try' && e.o === 'S') b.output = e.out;
      settleAttempt(findAttempt(tx.attempts[e.s], e.op, e.n), e);
      return;
    }
    case 'resent': {
      tx.branch(e.s).sentAt = e.at;
      const attempt = findAttempt(tx.attempts[e.s], e.op, e.n);
      if (attempt !== undefined) attempt.resent += 1;
      return;
    }
    case 'phase': {
      tx.phase = e.phase;
      if (e.phase === 'CONFIRM') {
        for (const b of tx.branches) b.nextAt = undefined;
        return;
      }
      tx.state = 'COMPENSATING';
      tx.cancelCause = e.cause;
      tx.failedStep = e.step;
      tx.reason = e.reason;
      for (const b of tx.branches) {
        // Every branch whose Try was sent at least once is cancelled: an
        // unanswered Try may have reserved resources.
        b.cancel.status = b.try.attempts === 0 ? 'SKIPPED' : 'PENDING';
        if (b.try.status === 'RUNNING' && b.inFlight === undefined) b.try.status = 'FAILED';
        if (b.try.status === 'PENDING') b.try.status = 'SKIPPED';
        if (b.inFlight === undefined) b.nextAt = undefined;
      }
      return;
    }
    case 'finish': {
      tx.state = e.state;
      tx.finishedAt = e.at;
      if (e.state === 'MANUAL') tx.reason = e.reason;
      return;
    }
    case 'retry': {
      tx.retries += 1;
      reopen(tx, tx.phase === 'CANCEL' ? 'COMPENSATING' : 'RUNNING');
      const name = tx.phaseOp();
      for (const b of tx.branches) {
        const o = b[name];
        if (retriedAgain(o.status)) {
          o.status = 'PENDING';
          o.base = o.attempts;
          b.nextAt = undefined;
        }
      }
      return;
    }
    case 'resolve':
      applyResolve(tx, e);
      return;
  }
}

/**
 * Puts a live transaction back as its log has it (`fresh`, folded from the
 * log), in place: calls in flight hold the same object.
 */
export function restoreTcc(tx: TccRuntime, fresh: TccRuntime): void {
  copySummary(tx, fresh);
  tx.phase = fresh.phase;
  tx.cancelCause = fresh.cancelCause;
  tx.retries = fresh.retries;
  tx.branches.forEach((b, i) => {
    const f = fresh.branch(i);
    Object.assign(b.try, f.try);
    Object.assign(b.confirm, f.confirm);
    Object.assign(b.cancel, f.cancel);
    b.inFlight = f.inFlight;
    b.nextAt = f.nextAt;
    b.sentAt = f.sentAt;
    b.output = f.output;
    b.lastError = f.lastError;
  });
}
