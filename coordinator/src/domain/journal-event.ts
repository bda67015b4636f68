// The saga log: every durable change of a saga is one journal event, appended in
// order. The full state of a saga is the fold of its events over its definition
// (see engine/saga-runtime.ts), which is how recovery and GetSaga rebuild it.

import type { Operation, SagaState, TccPhase } from './saga-types.js';

export type CompensationCause = 'failure' | 'deadline' | 'abort';

/** The intent to call a participant: durable before the RPC goes out. */
export interface DispatchEvent {
  readonly t: 'dispatch';
  readonly at: number;
  /** Step index in the definition. */
  readonly s: number;
  readonly op: Operation;
  /** Attempt number (1-based). */
  readonly n: number;
}

/** A call's result: durable before anything that depends on it happens. */
export interface ResultEvent {
  readonly t: 'result';
  readonly at: number;
  readonly s: number;
  readonly op: Operation;
  readonly n: number;
  /** S = succeeded, F = business failure, E = transient error. */
  readonly o: 'S' | 'F' | 'E';
  /** Output bytes (S of execute), base64 in the stored form. */
  readonly out?: Buffer | undefined;
  readonly code?: string;
  readonly msg?: string;
  /** When the next attempt is due (E with budget left); absent = exhausted. */
  readonly next?: number;
}

/** An in-doubt attempt re-sent after a restart, same attempt number and key. */
export interface ResentEvent {
  readonly t: 'resent';
  readonly at: number;
  readonly s: number;
  readonly op: Operation;
  readonly n: number;
}

/** Forward progress stops and compensation begins. */
export interface CompensateEvent {
  readonly t: 'compensate';
  readonly at: number;
  readonly cause: CompensationCause;
  /** Name of the failing step, '' for deadline/abort. */
  readonly step: string;
  readonly reason: string;
}

/**
 * TCC: the Try phase is over. CONFIRM: every Try succeeded, Confirm every
 * branch; CANCEL: Cancel every branch whose Try was sent at least once.
 */
export type PhaseEvent =
  | { readonly t: 'phase'; readonly at: number; readonly phase: Extract<TccPhase, 'CONFIRM'> }
  | { readonly t: 'phase'; readonly at: number; readonly phase: Extract<TccPhase, 'CANCEL'>; readonly cause: CompensationCause; readonly step: string; readonly reason: string };

/** The saga reached an outcome. */
export interface FinishEvent {
  readonly t: 'finish';
  readonly at: number;
  readonly state: Extract<SagaState, 'COMPLETED' | 'COMPENSATED' | 'MANUAL'>;
  readonly reason: string;
}

/** An operator re-drives a MANUAL saga's compensation with a fresh budget. */
export interface RetryEvent {
  readonly t: 'retry';
  readonly at: number;
}

/** An operator closes a MANUAL saga. */
export interface ResolveEvent {
  readonly t: 'resolve';
  readonly at: number;
  readonly note: string;
}

export type JournalEvent =
  | DispatchEvent
  | ResultEvent
  | ResentEvent
  | CompensateEvent
  | PhaseEvent
  | FinishEvent
  | RetryEvent
  | ResolveEvent;

/** Whether the event begins a compensation: a saga's compensate, a TCC Cancel phase, or a RetrySaga. */
export function beginsCompensation(e: JournalEvent): boolean {
  return e.t === 'compensate' || e.t === 'retry' || (e.t === 'phase' && e.phase === 'CANCEL');
}

/** Stored form: JSON with bytes as base64. */
export function encodeJournalEvent(e: JournalEvent): string {
  if (e.t === 'result' && e.out !== undefined) {
    return JSON.stringify({ ...e, out: e.out.toString('base64') });
  }
  return JSON.stringify(e);
}

export function decodeJournalEvent(text: string): JournalEvent {
  const raw = JSON.parse(text) as JournalEvent & { out?: string | Buffer };
  if (raw.t === 'result' && typeof raw.out === 'string') {
    return { ...raw, out: Buffer.from(raw.out, 'base64') };
  }
  return raw;
}
