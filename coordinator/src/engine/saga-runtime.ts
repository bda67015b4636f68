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
import type { JournalEvent } from '../domain/journal-event.js';

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

export interface SagaIdentity {
  /** Store-assigned integer key. */
  readonly key: number;
  readonly id: string;
  readonly definition: SagaDefinition;
  readonly createdAt: number;
  readonly deadlineAt: number | undefined;
  /** Hash of the definition as requested, for idempotent StartSaga. */
  readonly definitionHash: string;
}

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
    this.steps.forEach((step, i) => {
      if (step.exec === 'SUCCEEDED' && step.output !== undefined) {
        (out ??= new Map()).set(this.definition.steps[i]?.name ?? '', step.output);
      }
    });
    return out ?? NO_OUTPUTS;
  }

  toView(): SagaView {
    return {
      sagaId: this.id,
      name: this.definition.name,
      state: this.state,
      forwardStatus: this.forward,
      compensationStatus: this.compensation,
      definition: this.definition,
      steps: this.steps.map((step, i) => ({
        executeStatus: step.exec,
        compensateStatus: this.state === 'COMPLETED' ? 'SKIPPED' : step.comp,
        output: step.output,
        attempts: this.attempts?.[i] ?? [],
        nextAttemptAt: step.nextAt,
      })),
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
      saga.state = 'COMPENSATING';
      saga.compensation = 'RUNNING';
      saga.finishedAt = undefined;
      for (const step of saga.steps) {
        if (step.comp === 'FAILED' || step.comp === 'PENDING' || step.comp === 'RUNNING') {
          step.comp = 'PENDING';
          step.compBase = step.compAttempts;
          step.nextAt = undefined;
        }
      }
      return;
    }
    case 'resolve': {
      saga.state = 'RESOLVED';
      saga.note = e.note;
      saga.finishedAt = e.at;
      return;
    }
  }
}
