// The state of one TCC transaction as the fold of its journal, the TCC
// counterpart of saga-runtime.ts: the same identity, definition (each step is
// a branch), states and attempt records, and the same event shapes, with the
// operations try / confirm / cancel and a `phase` event in place of
// `compensate`. `applyTccEvent` is the only place that changes it, so a live
// run, recovery and GetSaga agree.

import type { AttemptOutcome, SagaState, StepStatus } from '../domain/saga-types.js';
import { findAttempt, settleAttempt } from './attempt-log.js';
import { internMessage } from './compact-definition.js';
import type { DispatchEvent, FinishEvent, ResentEvent, ResolveEvent, ResultEvent, RetryEvent } from '../domain/journal-event.js';
import type { SagaIdentity } from './saga-runtime.js';

export type TccOp = 'try' | 'confirm' | 'cancel';
export type TccPhase = 'TRY' | 'CONFIRM' | 'CANCEL';
/** Why the Try phase ended in Cancel. */
export type TccCancelCause = 'failure' | 'deadline' | 'abort';

type WithOp<E> = Omit<E, 'op'> & { readonly op: TccOp };
export type TccDispatchEvent = WithOp<DispatchEvent>;
export type TccResultEvent = WithOp<ResultEvent>;
export type TccResentEvent = WithOp<ResentEvent>;

/** The Try phase is over: Confirm every branch, or Cancel every branch that was tried. */
export type TccPhaseEvent =
  | { readonly t: 'phase'; readonly at: number; readonly phase: 'CONFIRM' }
  | { readonly t: 'phase'; readonly at: number; readonly phase: 'CANCEL'; readonly cause: TccCancelCause; readonly step: string; readonly reason: string };

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
  note = '';
  finishedAt: number | undefined;
  updatedAt: number;
  version = 0;
  readonly branches: TccBranchRuntime[];
  /** Every attempt per branch (GetSaga). */
  readonly attempts: TccAttemptRecord[][];

  constructor(readonly identity: SagaIdentity) {
    this.updatedAt = identity.createdAt;
    this.branches = identity.definition.steps.map(() => ({
      try: op(),
      confirm: op(),
      cancel: op(),
      inFlight: undefined,
      nextAt: undefined,
      output: undefined,
      lastError: '',
    }));
    this.attempts = identity.definition.steps.map(() => []);
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
      tx.state = tx.phase === 'CANCEL' ? 'COMPENSATING' : 'RUNNING';
      tx.finishedAt = undefined;
      const name = tx.phaseOp();
      for (const b of tx.branches) {
        const o = b[name];
        if (o.status === 'FAILED' || o.status === 'RUNNING' || o.status === 'PENDING') {
          o.status = 'PENDING';
          o.base = o.attempts;
          b.nextAt = undefined;
        }
      }
      return;
    }
    case 'resolve': {
      tx.state = 'RESOLVED';
      tx.note = e.note;
      tx.finishedAt = e.at;
      return;
    }
  }
}
