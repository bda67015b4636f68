// The pure parts of transactional messages: the state machine and request
// validation.

import { describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG } from '../config/config.js';
import { DomainError } from '../domain/errors.js';
import { checkDue, decideCheckAnswer, decideCommit, decideDelivery, decideRollback, nextWake, prepared } from './message-decider.js';
import type { MessageRecord, PrepareInput } from './message-types.js';
import { isSubjectPattern, subjectMatches } from './subject-pattern.js';
import { validatePrepare, type PrepareContext } from './validate-prepare.js';

const settings = DEFAULT_CONFIG.messages;
const ctx: PrepareContext = {
  now: 1_000_000,
  isRegistered: (name) => name === 'orders',
  reservedSubjectPrefix: 'saga',
  allowedSubjects: ['orders.>', 'stock.*.changed'],
};

function input(extra: Partial<PrepareInput> = {}): PrepareInput {
  return {
    messageId: 'm-1',
    subject: 'orders.created',
    key: 'order-1',
    payload: Buffer.from('{"orderId":"order-1"}'),
    headers: { 'Content-Type': 'application/json' },
    producer: 'orders',
    checkPolicy: { checkAfterMs: 0, checkIntervalMs: 0, maxChecks: 0, checkTimeoutMs: 0 },
    deliverAt: undefined,
    ...extra,
  };
}

function message(extra: Partial<PrepareInput> = {}, now = 1_000_000): MessageRecord {
  return prepared(validatePrepare(input(extra), settings, ctx), 'm-1', now);
}

function invalidField(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof DomainError && err.kind === 'INVALID_ARGUMENT') return err.message.slice(0, err.message.indexOf(':'));
    throw err;
  }
  throw new Error('no error');
}

describe('message decider', () => {
  it('prepares with the default check policy and schedules the first check after check_after', () => {
    const m = message();
    expect(m.state).toBe('PREPARED');
    expect(m.policy).toEqual({ checkAfterMs: 6000, checkIntervalMs: 30_000, maxChecks: 15, checkTimeoutMs: 5000 });
    expect(m.nextCheckAt).toBe(1_006_000);
    expect(checkDue(m, 1_005_999)).toBeUndefined();
    expect(checkDue(m, 1_006_000)).toBe(1);
    expect(nextWake(m)).toBe(1_006_000);
  });

  it('commits once (idempotent), enqueues at once, and refuses a rollback afterwards', () => {
    const d = decideCommit(message(), 1_000_100);
    expect(d.kind).toBe('change');
    if (d.kind !== 'change') return;
    expect(d.enqueue).toBe(true);
    expect(d.next).toMatchObject({ state: 'COMMITTED', decidedAt: 1_000_100, enqueuedAt: 1_000_100, nextCheckAt: undefined, version: 2 });
    expect(nextWake(d.next)).toBeUndefined();
    expect(decideCommit(d.next, 1_000_200)).toEqual({ kind: 'unchanged', state: 'COMMITTED' });
    const r = decideRollback(d.next, 1_000_200, 'x');
    expect(r.kind === 'refused' && r.error.kind).toBe('FAILED_PRECONDITION');
  });

  it('rolls back once (idempotent) and refuses a commit afterwards', () => {
    const d = decideRollback(message(), 1_000_100, 'stock check failed');
    expect(d.kind === 'change' && d.next.state).toBe('ROLLED_BACK');
    if (d.kind !== 'change') return;
    expect(d.enqueue).toBe(false);
    expect(d.next.reason).toBe('stock check failed');
    expect(decideRollback(d.next, 1_000_200, 'again')).toEqual({ kind: 'unchanged', state: 'ROLLED_BACK' });
    const c = decideCommit(d.next, 1_000_200);
    expect(c.kind === 'refused' && c.error.kind).toBe('FAILED_PRECONDITION');
  });

  it('holds a committed message with a future deliver_at until it is due', () => {
    const m = message({ deliverAt: 1_500_000 });
    const d = decideCommit(m, 1_000_100);
    if (d.kind !== 'change') throw new Error('expected a change');
    expect(d.enqueue).toBe(false);
    expect(d.next.enqueuedAt).toBeUndefined();
    expect(nextWake(d.next)).toBe(1_500_000);
    expect(decideDelivery(d.next, 1_499_999).kind).toBe('unchanged');
    const due = decideDelivery(d.next, 1_500_000);
    expect(due.kind === 'change' && due.enqueue && due.next.enqueuedAt).toBe(1_500_000);
    // A deliver_at already past at commit time means at once.
    const late = decideCommit(m, 1_600_000);
    expect(late.kind === 'change' && late.enqueue).toBe(true);
  });

  it('follows check-back answers: COMMIT commits, ROLLBACK rolls back, UNKNOWN and errors check again until the maximum', () => {
    const m = message({ checkPolicy: { checkAfterMs: 0, checkIntervalMs: 1000, maxChecks: 3, checkTimeoutMs: 0 } });
    const commit = decideCheckAnswer(m, { kind: 'COMMIT' }, 2_000_000);
    expect(commit.kind === 'change' && [commit.next.state, commit.next.checks, commit.enqueue]).toEqual(['COMMITTED', 1, true]);
    const rollback = decideCheckAnswer(m, { kind: 'ROLLBACK' }, 2_000_000);
    expect(rollback.kind === 'change' && [rollback.next.state, rollback.next.reason]).toEqual(['ROLLED_BACK', 'check-back 1 answered ROLLBACK']);

    let cur = m;
    const answers = [{ kind: 'UNKNOWN' }, { kind: 'error', code: 'UNAVAILABLE', message: 'down' }, { kind: 'UNKNOWN' }] as const;
    for (const [i, answer] of answers.entries()) {
      const d = decideCheckAnswer(cur, answer, 3_000_000 + i);
      if (d.kind !== 'change') throw new Error('expected a change');
      cur = d.next;
      expect(cur.checks).toBe(i + 1);
      if (i < 2) {
        expect(cur.state).toBe('PREPARED');
        expect(cur.nextCheckAt).toBe(3_000_000 + i + 1000);
        expect(d.alert).toBe(false);
      } else {
        expect(cur.state).toBe('DISCARDED');
        expect(cur.reason).toBe('no decision after 3 check-backs (last: UNKNOWN)');
        expect(d.alert).toBe(true);
        expect(d.enqueue).toBe(false);
      }
    }
    expect(decideCheckAnswer(cur, { kind: 'COMMIT' }, 4_000_000)).toEqual({ kind: 'unchanged', state: 'DISCARDED' });
    // Discarded is as good as rolled back for the producer; a commit is refused.
    expect(decideRollback(cur, 4_000_000, '')).toEqual({ kind: 'unchanged', state: 'DISCARDED' });
    expect(decideCommit(cur, 4_000_000).kind).toBe('refused');
  });
});

describe('PrepareMessage validation', () => {
  it('names the field of every invalid input', () => {
    expect(invalidField(() => validatePrepare(input({ messageId: 'has space' }), settings, ctx))).toBe('message_id');
    expect(invalidField(() => validatePrepare(input({ subject: '' }), settings, ctx))).toBe('subject');
    expect(invalidField(() => validatePrepare(input({ subject: 'orders.*' }), settings, ctx))).toBe('subject');
    expect(invalidField(() => validatePrepare(input({ subject: 'orders.>' }), settings, ctx))).toBe('subject');
    expect(invalidField(() => validatePrepare(input({ subject: 'orders..created' }), settings, ctx))).toBe('subject');
    expect(invalidField(() => validatePrepare(input({ subject: 'orders.cre ated' }), settings, ctx))).toBe('subject');
    expect(invalidField(() => validatePrepare(input({ subject: '$JS.API.STREAM.DELETE.X' }), settings, ctx))).toBe('subject');
    expect(invalidField(() => validatePrepare(input({ subject: 'saga.events.x.completed' }), settings, ctx))).toBe('subject');
    expect(invalidField(() => validatePrepare(input({ subject: 'payments.created' }), settings, ctx))).toBe('subject');
    expect(invalidField(() => validatePrepare(input({ key: 'k'.repeat(513) }), settings, ctx))).toBe('key');
    expect(invalidField(() => validatePrepare(input({ payload: Buffer.alloc(1024 * 1024 + 1) }), settings, ctx))).toBe('payload');
    expect(invalidField(() => validatePrepare(input({ headers: { 'Nats-Msg-Id': 'x' } }), settings, ctx))).toBe('headers["Nats-Msg-Id"]');
    expect(invalidField(() => validatePrepare(input({ headers: { 'bad name': 'x' } }), settings, ctx))).toBe('headers["bad name"]');
    expect(invalidField(() => validatePrepare(input({ headers: { ok: 'a\r\nb' } }), settings, ctx))).toBe('headers["ok"]');
    expect(invalidField(() => validatePrepare(input({ producer: '' }), settings, ctx))).toBe('producer');
    expect(invalidField(() => validatePrepare(input({ producer: 'payments' }), settings, ctx))).toBe('producer');
    expect(invalidField(() => validatePrepare(input({ producer: '127.0.0.1:9' }), settings, ctx))).toBe('producer');
    const policy = { checkAfterMs: 0, checkIntervalMs: 0, maxChecks: 0, checkTimeoutMs: 0 };
    expect(invalidField(() => validatePrepare(input({ checkPolicy: { ...policy, checkAfterMs: 5 } }), settings, ctx))).toBe('check_policy.check_after_ms');
    expect(invalidField(() => validatePrepare(input({ checkPolicy: { ...policy, checkIntervalMs: 86_400_001 } }), settings, ctx))).toBe(
      'check_policy.check_interval_ms',
    );
    expect(invalidField(() => validatePrepare(input({ checkPolicy: { ...policy, maxChecks: 1001 } }), settings, ctx))).toBe('check_policy.max_checks');
    expect(invalidField(() => validatePrepare(input({ checkPolicy: { ...policy, checkTimeoutMs: 60_001 } }), settings, ctx))).toBe(
      'check_policy.check_timeout_ms',
    );
    expect(invalidField(() => validatePrepare(input({ deliverAt: ctx.now + 31 * 86_400_000 }), settings, ctx))).toBe('deliver_at');
  });

  it('identifies a message by its content, not by its check policy', () => {
    const a = validatePrepare(input(), settings, ctx);
    expect(validatePrepare(input({ headers: { 'Content-Type': 'application/json' } }), settings, ctx).contentHash).toBe(a.contentHash);
    expect(validatePrepare(input({ payload: Buffer.from('other') }), settings, ctx).contentHash).not.toBe(a.contentHash);
    expect(validatePrepare(input({ key: 'order-2' }), settings, ctx).contentHash).not.toBe(a.contentHash);
    expect(validatePrepare(input({ subject: 'orders.updated' }), settings, ctx).contentHash).not.toBe(a.contentHash);
    expect(validatePrepare(input({ deliverAt: ctx.now + 1000 }), settings, ctx).contentHash).not.toBe(a.contentHash);
    const explicitDefaults = validatePrepare(input({ checkPolicy: { checkAfterMs: 6000, checkIntervalMs: 30_000, maxChecks: 15, checkTimeoutMs: 5000 } }), settings, ctx);
    expect(explicitDefaults.policy).toEqual(a.policy);
    expect(explicitDefaults.contentHash).toBe(a.contentHash);
    expect(validatePrepare(input({ checkPolicy: { checkAfterMs: 100, checkIntervalMs: 0, maxChecks: 1, checkTimeoutMs: 0 } }), settings, ctx).contentHash).toBe(a.contentHash);
  });

  it('matches NATS subject patterns', () => {
    expect(subjectMatches('orders.>', 'orders.created')).toBe(true);
    expect(subjectMatches('orders.>', 'orders.eu.created')).toBe(true);
    expect(subjectMatches('orders.>', 'orders')).toBe(false);
    expect(subjectMatches('stock.*.changed', 'stock.sku-1.changed')).toBe(true);
    expect(subjectMatches('stock.*.changed', 'stock.a.b.changed')).toBe(false);
    expect(subjectMatches('a.b', 'a.b')).toBe(true);
    expect(subjectMatches('a.b', 'a.b.c')).toBe(false);
    expect(isSubjectPattern('orders.>')).toBe(true);
    expect(isSubjectPattern('orders.>.x')).toBe(false);
    expect(isSubjectPattern('orders..x')).toBe(false);
    expect(isSubjectPattern('or*ders')).toBe(false);
  });
});
