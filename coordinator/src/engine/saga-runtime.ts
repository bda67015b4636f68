// The state of one saga as the fold of its journal. `applyEvent` is the only
// place that changes it, so the live engine, recovery and GetSaga agree.

import type {
  AttemptRecord,
  CompensationStatus,
  ForwardStatus,
  Operation,
  SagaDefinition,
  SagaState,
  SagaView,
  StepStatus,
} from '../domain/saga-types.js';
import { findAttempt, settleAttempt } from './attempt-log.js';
import { internMessage } from './compact-definition.js';
import { applyResolve, reopen, retriedAgain } from './operator-changes.js';
import type { JournalEvent } from '../domain/journal-event.js';
import type { SagaIdentity } from './saga-identity.js';
import { applyTccEvent, TccRuntime, type TccJournalEvent } from './tcc-runtime.js';
import { copySummary } from './transaction-summary.js';

const NO_OUTPUTS: ReadonlyMap<string, Buffer> = new Map();

export interface StepRuntime {
  exec: StepStatus;
  comp: StepStatus;
  /** Highest execute attempt dispatched. */
  execAttempts: number;
  /** Highest compensate attempt dispatched. */
  compAttempts: number;
  /** Compensate attempts before the last RetrySaga: the budget counts from here. */
  compBase: number;
  /** The operation whose RPC is outstanding (dispatched, no result yet). */
  inFlight: Operation | undefined;
  /** When the next attempt is due, while waiting out a backoff. */
  nextAt: number | undefined;
  /** When the step's latest call went out (its dispatch, or its re-send after a restart); kept after its result. */
  sentAt: number | undefined;
  output: Buffer | undefined;
  /** "CODE: message" of the last failed or errored attempt, for reasons. */
  lastError: string;
}

export type { SagaIdentity };

export class SagaRuntime implements SagaIdentity {
  readonly key: number;
  readonly id: string;
  readonly definition: SagaDefinition;
  readonly createdAt: number;
  readonly deadlineAt: number | undefined;
  readonly definitionHash: string;
  state: SagaState = 'RUNNING';
  forward: ForwardStatus = 'RUNNING';
  compensation: CompensationStatus = 'NOT_NEEDED';
  failedStep = '';
  reason = '';
  note = '';
  finishedAt: number | undefined;
  updatedAt: number;
  /** Number of journal events applied; the next event's sequence number is version + 1. */
  version = 0;
  /** Compensation epoch sent with Compensate calls: the number of RetrySagas (retry events) so far. */
  compensationEpoch = 0;
  readonly steps: StepRuntime[];
  /** Writes of this saga queued to the store and not yet committed (engine bookkeeping, not folded). */
  writing = 0;
  /**
   * The fencing epoch this instance holds the saga under on a shared store
   * (0 = a store with one writer): every write checks it, every call carries it.
   */
  epoch = 0;
  /** Every attempt per step; kept only for views (GetSaga), not by the live engine. */
  readonly attempts: AttemptRecord[][] | undefined;
  /**
   * A TCC transaction (definition kind TCC): its fold. The saga's own fields
   * (state, statuses, steps' calls in flight) mirror it (mirrorTcc), so that
   * the engine, parking, metrics and events read either kind alike.
   */
  readonly tcc: TccRuntime | undefined;

  constructor(identity: SagaIdentity, keepAttempts: boolean) {
    this.key = identity.key;
    this.id = identity.id;
    this.definition = identity.definition;
    this.createdAt = identity.createdAt;
    this.deadlineAt = identity.deadlineAt;
    this.definitionHash = identity.definitionHash;
    this.updatedAt = identity.createdAt;
    this.steps = identity.definition.steps.map(() => ({
      exec: 'PENDING',
      comp: 'PENDING',
      execAttempts: 0,
      compAttempts: 0,
      compBase: 0,
      inFlight: undefined,
      nextAt: undefined,
      sentAt: undefined,
      output: undefined,
      lastError: '',
    }));
    this.attempts = keepAttempts ? identity.definition.steps.map(() => []) : undefined;
    this.tcc = identity.definition.kind === 'TCC' ? new TccRuntime(identity, keepAttempts) : undefined;
  }

  step(index: number): StepRuntime {
    const step = this.steps[index];
    if (step === undefined) throw new Error(`saga ${this.id}: no step ${index}`);
    return step;
  }

  isActive(): boolean {
    return this.state === 'RUNNING' || this.state === 'COMPENSATING';
  }

  /** Outputs of the steps that succeeded, by step name (one shared empty map when there are none). */
  outputs(): ReadonlyMap<string, Buffer> {
    let out: Map<string, Buffer> | undefined;
    // TCC: the outputs of the Tries that succeeded (mirrored onto the steps).
    this.steps.forEach((step, i) => {
      if (step.exec === 'SUCCEEDED' && step.output !== undefined) {
        (out ??= new Map()).set(this.definition.steps[i]?.name ?? '', step.output);
      }
    });
    return out ?? NO_OUTPUTS;
  }

  toView(): SagaView {
    const tcc = this.tcc;
    return {
      sagaId: this.id,
      name: this.definition.name,
      kind: tcc === undefined ? 'SAGA' : 'TCC',
      phase: tcc?.phase,
      state: this.state,
      forwardStatus: this.forward,
      compensationStatus: this.compensation,
      definition: this.definition,
      steps: this.steps.map((step, i) => {
        const b = tcc?.branches[i];
        if (tcc === undefined || b === undefined) {
          return {
            executeStatus: step.exec,
            compensateStatus: this.state === 'COMPLETED' ? 'SKIPPED' : step.comp,
            output: step.output,
            attempts: this.attempts?.[i] ?? [],
            nextAttemptAt: step.nextAt,
          };
        }
        // A phase that was not chosen shows as skipped.
        return {
          executeStatus: b.try.status,
          compensateStatus: tcc.phase === 'CONFIRM' ? 'SKIPPED' : b.cancel.status,
          confirmStatus: tcc.phase === 'CANCEL' ? 'SKIPPED' : b.confirm.status,
          output: b.output,
          attempts: tcc.attempts[i] ?? [],
          nextAttemptAt: b.nextAt,
        };
      }),
      createdAt: this.createdAt,
      updatedAt: this.updatedAt,
      finishedAt: this.finishedAt,
      deadlineAt: this.deadlineAt,
      failedStep: this.failedStep,
      failureReason: this.reason,
      resolutionNote: this.note,
      version: this.version,
    };
  }
}

/** Applies one journal event. Deterministic, no I/O. */
export function applyEvent(saga: SagaRuntime, e: JournalEvent): void {
  if (saga.tcc !== undefined) {
    // A TCC transaction's journal holds only TCC events (its calls are try/confirm/cancel).
    applyTccEvent(saga.tcc, e as TccJournalEvent);
    mirrorTcc(saga);
    return;
  }
  saga.version += 1;
  saga.updatedAt = e.at;
  switch (e.t) {
    case 'dispatch': {
      const step = saga.step(e.s);
      step.inFlight = e.op;
      step.nextAt = undefined;
      step.sentAt = e.at;
      if (e.op === 'execute') {
        step.exec = 'RUNNING';
        step.execAttempts = e.n;
      } else {
        step.comp = 'RUNNING';
        step.compAttempts = e.n;
      }
      saga.attempts?.[e.s]?.push({
        operation: e.op,
        number: e.n,
        startedAt: e.at,
        finishedAt: undefined,
        outcome: 'IN_FLIGHT',
        errorCode: '',
        errorMessage: '',
        resent: 0,
      });
      return;
    }
    case 'result': {
      const step = saga.step(e.s);
      step.inFlight = undefined;
      const status: StepStatus = e.o === 'S' ? 'SUCCEEDED' : e.o === 'E' && e.next !== undefined ? 'RUNNING' : 'FAILED';
      step.nextAt = e.o === 'E' ? e.next : undefined;
      if (e.o !== 'S') step.lastError = internMessage(e.code ? `${e.code}: ${e.msg ?? ''}` : (e.msg ?? ''));
      if (e.op === 'execute') {
        step.exec = status;
        if (e.o === 'S') step.output = e.out;
      } else {
        step.comp = status;
      }
      settleAttempt(findAttempt(saga.attempts?.[e.s], e.op, e.n), e);
      return;
    }
    case 'resent': {
      saga.step(e.s).sentAt = e.at;
      const attempt = findAttempt(saga.attempts?.[e.s], e.op, e.n);
      if (attempt !== undefined) attempt.resent += 1;
      return;
    }
    case 'phase':
      // TCC only (above).
      return;
    case 'compensate': {
      saga.state = 'COMPENSATING';
      saga.forward = e.cause === 'abort' ? 'ABORTED' : e.cause === 'deadline' ? 'DEADLINE_EXCEEDED' : 'FAILED';
      saga.compensation = 'RUNNING';
      saga.failedStep = e.step;
      saga.reason = e.reason;
      saga.steps.forEach((step, i) => {
        const def = saga.definition.steps[i];
        // Every step whose Execute was dispatched at least once is compensated:
        // a call that timed out may still have taken effect.
        step.comp = step.execAttempts === 0 || def?.noCompensation === true ? 'SKIPPED' : 'PENDING';
        if (step.exec === 'RUNNING' && step.inFlight === undefined) {
          // Was waiting out a backoff: it will not be retried any more.
          step.exec = 'FAILED';
          step.nextAt = undefined;
        }
        if (step.exec === 'PENDING') step.nextAt = undefined;
      });
      return;
    }
    case 'finish': {
      saga.state = e.state;
      saga.finishedAt = e.at;
      if (e.state === 'COMPLETED') saga.forward = 'SUCCEEDED';
      if (e.state === 'COMPENSATED') saga.compensation = 'SUCCEEDED';
      if (e.state === 'MANUAL') {
        saga.compensation = 'FAILED';
        saga.reason = e.reason;
      }
      return;
    }
    case 'retry': {
      saga.compensationEpoch += 1;
      reopen(saga, 'COMPENSATING');
      saga.compensation = 'RUNNING';
      for (const step of saga.steps) {
        if (retriedAgain(step.comp)) {
          step.comp = 'PENDING';
          step.compBase = step.compAttempts;
          step.nextAt = undefined;
        }
      }
      return;
    }
    case 'resolve':
      applyResolve(saga, e);
      return;
  }
}

/**
 * Copies a TCC transaction's state onto its saga: summary fields, the
 * saga-level statuses (forward = the Try phase, compensation = the Cancel
 * phase), and per branch the call in flight, backoff, send time and the Try's
 * status and output. Idempotent; called after every TCC change.
 */
export function mirrorTcc(saga: SagaRuntime): void {
  const tx = saga.tcc;
  if (tx === undefined) return;
  copySummary(saga, tx);
  saga.compensationEpoch = tx.retries;
  if (tx.phase === 'TRY') {
    saga.forward = 'RUNNING';
    saga.compensation = 'NOT_NEEDED';
  } else if (tx.phase === 'CONFIRM') {
    saga.forward = 'SUCCEEDED';
    saga.compensation = 'NOT_NEEDED';
  } else {
    saga.forward = tx.cancelCause === 'abort' ? 'ABORTED' : tx.cancelCause === 'deadline' ? 'DEADLINE_EXCEEDED' : 'FAILED';
    saga.compensation = tx.state === 'COMPENSATED' ? 'SUCCEEDED' : tx.state === 'MANUAL' || tx.state === 'RESOLVED' ? 'FAILED' : 'RUNNING';
  }
  tx.branches.forEach((b, i) => {
    const step = saga.steps[i];
    if (step === undefined) return;
    step.inFlight = b.inFlight;
    step.nextAt = b.nextAt;
    step.sentAt = b.sentAt;
    step.exec = b.try.status;
    step.comp = b.cancel.status;
    step.output = b.output;
    step.lastError = b.lastError;
  });
}
