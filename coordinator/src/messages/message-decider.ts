// The transactional-message state machine, pure: each function takes a
// message and the time and returns what changes (a new record and the outbox
// effects to write with it), what stays, or why the request is refused. The
// service makes a change durable before it acts on it.
//
//   PREPARED ──commit / check COMMIT──────────▶ COMMITTED ──(deliver_at)──▶ enqueued in the outbox
//   PREPARED ──rollback / check ROLLBACK──────▶ ROLLED_BACK
//   PREPARED ──max_checks UNKNOWN or failed───▶ DISCARDED (+ alert)

import { DomainError, failedPrecondition } from '../domain/errors.js';
import type { CheckAnswer, MessageRecord, MessageState, ValidatedPrepare } from './message-types.js';

export type Decision =
  /** Nothing to write: the request is already satisfied (idempotent repeat) or nothing is due. */
  | { readonly kind: 'unchanged'; readonly state: MessageState }
  | {
      readonly kind: 'change';
      readonly next: MessageRecord;
      /** Write the message's outbox row now (it is committed and due). */
      readonly enqueue: boolean;
      /** Write the MESSAGE_DISCARDED alert. */
      readonly alert: boolean;
    }
  | { readonly kind: 'refused'; readonly error: DomainError };

/** The record of a freshly prepared message. */
export function prepared(v: ValidatedPrepare, id: string, now: number): MessageRecord {
  return {
    id,
    subject: v.subject,
    key: v.key,
    headers: v.headers,
    producer: v.producer,
    policy: v.policy,
    contentHash: v.contentHash,
    state: 'PREPARED',
    checks: 0,
    createdAt: now,
    decidedAt: undefined,
    deliverAt: v.deliverAt,
    nextCheckAt: now + v.policy.checkAfterMs,
    enqueuedAt: undefined,
    publishedAt: undefined,
    reason: '',
    version: 1,
  };
}

/** CommitMessage, or a check-back that answered COMMIT. */
export function decideCommit(m: MessageRecord, now: number): Decision {
  switch (m.state) {
    case 'COMMITTED':
      return { kind: 'unchanged', state: m.state };
    case 'ROLLED_BACK':
    case 'DISCARDED':
      return refused(`message "${m.id}" is ${m.state}${m.reason ? ` (${m.reason})` : ''}; it cannot be committed`);
    case 'PREPARED': {
      const due = isDue(m.deliverAt, now);
      return {
        kind: 'change',
        next: { ...m, state: 'COMMITTED', decidedAt: now, nextCheckAt: undefined, enqueuedAt: due ? now : undefined, reason: '', version: m.version + 1 },
        enqueue: due,
        alert: false,
      };
    }
  }
}

/** RollbackMessage, or a check-back that answered ROLLBACK. A discarded message is as good as rolled back. */
export function decideRollback(m: MessageRecord, now: number, reason: string): Decision {
  switch (m.state) {
    case 'ROLLED_BACK':
    case 'DISCARDED':
      return { kind: 'unchanged', state: m.state };
    case 'COMMITTED':
      return refused(`message "${m.id}" is COMMITTED; it cannot be rolled back`);
    case 'PREPARED':
      return {
        kind: 'change',
        next: { ...m, state: 'ROLLED_BACK', decidedAt: now, nextCheckAt: undefined, reason, version: m.version + 1 },
        enqueue: false,
        alert: false,
      };
  }
}

/** The 1-based number of the check-back due now, or undefined when none is (not PREPARED, or not yet). */
export function checkDue(m: MessageRecord, now: number): number | undefined {
  if (m.state !== 'PREPARED' || m.nextCheckAt === undefined || m.nextCheckAt > now) return undefined;
  return m.checks + 1;
}

/** The answer to check-back number `m.checks + 1`. */
export function decideCheckAnswer(m: MessageRecord, answer: CheckAnswer, now: number): Decision {
  if (m.state !== 'PREPARED') return { kind: 'unchanged', state: m.state };
  const n = m.checks + 1;
  if (answer.kind === 'COMMIT') {
    const d = decideCommit(m, now);
    return d.kind === 'change' ? { ...d, next: { ...d.next, checks: n } } : d;
  }
  if (answer.kind === 'ROLLBACK') {
    const d = decideRollback(m, now, `check-back ${n} answered ROLLBACK`);
    return d.kind === 'change' ? { ...d, next: { ...d.next, checks: n } } : d;
  }
  const last = answer.kind === 'UNKNOWN' ? 'UNKNOWN' : `call failed: ${answer.code}`;
  if (n >= m.policy.maxChecks) {
    return {
      kind: 'change',
      next: {
        ...m,
        state: 'DISCARDED',
        checks: n,
        decidedAt: now,
        nextCheckAt: undefined,
        reason: `no decision after ${n} check-backs (last: ${last})`,
        version: m.version + 1,
      },
      enqueue: false,
      alert: true,
    };
  }
  return {
    kind: 'change',
    next: { ...m, checks: n, nextCheckAt: now + m.policy.checkIntervalMs, reason: `check-back ${n}: ${last}`, version: m.version + 1 },
    enqueue: false,
    alert: false,
  };
}

/** A committed message whose deliver_at has come: hand it to the outbox. */
export function decideDelivery(m: MessageRecord, now: number): Decision {
  if (m.state !== 'COMMITTED' || m.enqueuedAt !== undefined || !isDue(m.deliverAt, now)) return { kind: 'unchanged', state: m.state };
  return { kind: 'change', next: { ...m, enqueuedAt: now, version: m.version + 1 }, enqueue: true, alert: false };
}

/** When the message must be looked at again: its next check-back, or its delivery time. */
export function nextWake(m: MessageRecord): number | undefined {
  if (m.state === 'PREPARED') return m.nextCheckAt;
  if (m.state === 'COMMITTED' && m.enqueuedAt === undefined) return m.deliverAt ?? 0;
  return undefined;
}

function isDue(deliverAt: number | undefined, now: number): boolean {
  return deliverAt === undefined || deliverAt <= now;
}

function refused(what: string): Decision {
  return { kind: 'refused', error: failedPrecondition(what) };
}
