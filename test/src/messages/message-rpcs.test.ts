// Transactional messages at the coordinator, with real processes and no NATS:
// the RPCs and their errors, the outbox rows a commit writes (read from the
// coordinator's SQLite file), check-backs to the real orders producer,
// delayed delivery, and kill -9 of the coordinator with a prepared message.

import { status } from '@grpc/grpc-js';
import { MessageState, StepOutcome } from '@saga/proto';
import { afterEach, describe, expect, it } from 'vitest';
import { queryDb } from '../support/sqlite-inspect.js';
import { idFor } from '../support/test-dir.js';
import { waitFor } from '../support/wait-for.js';
import { grpcError } from './message-rpc-client.js';
import { OrderEventsScenario, outputOf, PRODUCER, succeeded } from './order-events-scenario.js';

let s: OrderEventsScenario | undefined;

afterEach(async () => {
  await s?.close();
  s = undefined;
});

interface OutboxRow {
  id: string;
  subject: string;
  payload: Buffer;
  headers: string;
  sent_at: number | null;
}

const outbox = (sc: OrderEventsScenario, id?: string): Promise<OutboxRow[]> =>
  id === undefined
    ? queryDb<OutboxRow>(sc.db('coordinator'), 'SELECT id, subject, payload, headers, sent_at FROM outbox ORDER BY seq')
    : queryDb<OutboxRow>(sc.db('coordinator'), 'SELECT id, subject, payload, headers, sent_at FROM outbox WHERE id = ?', [id]);

const later = { checkAfterMs: 60_000, checkIntervalMs: 0, maxChecks: 0, checkTimeoutMs: 0 };

describe('transactional message RPCs', () => {
  it('keeps a prepared message out of the outbox; a commit writes one row with Nats-Msg-Id = message id; repeats are idempotent', async () => {
    const sc = (s = await OrderEventsScenario.start('rpc commit', { nats: false }));
    const id = idFor('rpc commit');
    const prepared = await sc.messages.prepare({
      messageId: id,
      subject: 'orders.created',
      key: 'order-1',
      payload: Buffer.from('{"orderId":"order-1"}'),
      headers: { 'Content-Type': 'application/json' },
      producer: PRODUCER,
      checkPolicy: later,
    });
    expect(prepared).toEqual({ messageId: id, state: MessageState.MESSAGE_STATE_PREPARED });
    // Same id, same content: the same message.
    expect((await sc.messages.prepare({ messageId: id, subject: 'orders.created', key: 'order-1', payload: Buffer.from('{"orderId":"order-1"}'), headers: { 'Content-Type': 'application/json' }, producer: PRODUCER, checkPolicy: later })).state).toBe(
      MessageState.MESSAGE_STATE_PREPARED,
    );
    expect(await outbox(sc, id)).toEqual([]);
    expect((await sc.messages.commit(id)).state).toBe(MessageState.MESSAGE_STATE_COMMITTED);
    expect((await sc.messages.commit(id)).state).toBe(MessageState.MESSAGE_STATE_COMMITTED);
    const rows = await outbox(sc, id);
    expect(rows).toHaveLength(1);
    expect(rows[0]!.subject).toBe('orders.created');
    expect(rows[0]!.payload.toString()).toBe('{"orderId":"order-1"}');
    expect(JSON.parse(rows[0]!.headers)).toEqual({ 'Content-Type': 'application/json', 'Nats-Msg-Id': id });
    expect((await grpcError(sc.messages.rollback(id))).code).toBe(status.FAILED_PRECONDITION);
    const m = await sc.messages.get(id);
    expect(m).toMatchObject({ messageId: id, subject: 'orders.created', key: 'order-1', producer: PRODUCER, state: MessageState.MESSAGE_STATE_COMMITTED, checks: 0 });
    expect(m.checkPolicy).toEqual({ checkAfterMs: 60_000, checkIntervalMs: 30_000, maxChecks: 15, checkTimeoutMs: 5000 });
    expect(m.decidedAt).toBeInstanceOf(Date);
    expect(m.nextCheckAt).toBeUndefined();
    expect(m.publishedAt).toBeUndefined();
  });

  it('rolls back idempotently, writes nothing to the outbox, and refuses a commit afterwards', async () => {
    const sc = (s = await OrderEventsScenario.start('rpc rollback', { nats: false }));
    const id = idFor('rpc rollback');
    await sc.messages.prepare({ messageId: id, subject: 'orders.created', producer: PRODUCER, checkPolicy: later });
    expect((await sc.messages.rollback(id, 'order rejected')).state).toBe(MessageState.MESSAGE_STATE_ROLLED_BACK);
    expect((await sc.messages.rollback(id)).state).toBe(MessageState.MESSAGE_STATE_ROLLED_BACK);
    expect((await grpcError(sc.messages.commit(id))).code).toBe(status.FAILED_PRECONDITION);
    expect(await outbox(sc, id)).toEqual([]);
    expect((await sc.messages.get(id)).reason).toBe('order rejected');
  });

  it('answers INVALID_ARGUMENT naming the field, ALREADY_EXISTS for other content under an id, NOT_FOUND for unknown ids', async () => {
    const sc = (s = await OrderEventsScenario.start('rpc validation', { nats: false }));
    const base = { subject: 'orders.created', producer: PRODUCER };
    const invalid = async (req: Parameters<typeof sc.messages.prepare>[0]): Promise<string> => {
      const err = await grpcError(sc.messages.prepare(req));
      expect(err.code).toBe(status.INVALID_ARGUMENT);
      return err.details.slice(0, err.details.indexOf(':'));
    };
    expect(await invalid({ ...base, subject: 'orders.*' })).toBe('subject');
    expect(await invalid({ ...base, subject: 'payments.created' })).toBe('subject');
    expect(await invalid({ ...base, subject: 'saga.alerts.message_discarded' })).toBe('subject');
    expect(await invalid({ ...base, subject: '$JS.API.STREAM.DELETE.SAGA_EVENTS' })).toBe('subject');
    expect(await invalid({ ...base, producer: 'nobody' })).toBe('producer');
    expect(await invalid({ ...base, producer: '' })).toBe('producer');
    expect(await invalid({ ...base, headers: { 'Nats-Msg-Id': 'spoof' } })).toBe('headers["Nats-Msg-Id"]');
    expect(await invalid({ ...base, payload: Buffer.alloc(1024 * 1024 + 1) })).toBe('payload');
    expect(await invalid({ ...base, checkPolicy: { ...later, checkAfterMs: 1 } })).toBe('check_policy.check_after_ms');
    expect(await invalid({ ...base, messageId: 'bad id' })).toBe('message_id');
    expect(await invalid({ ...base, deliverAt: new Date(Date.now() + 365 * 86_400_000) })).toBe('deliver_at');
    const id = idFor('rpc validation');
    await sc.messages.prepare({ ...base, messageId: id, payload: Buffer.from('a'), checkPolicy: later });
    expect((await grpcError(sc.messages.prepare({ ...base, messageId: id, payload: Buffer.from('b'), checkPolicy: later }))).code).toBe(
      status.ALREADY_EXISTS,
    );
    expect((await grpcError(sc.messages.commit('no-such-message'))).code).toBe(status.NOT_FOUND);
    expect((await grpcError(sc.messages.get(''))).code).toBe(status.INVALID_ARGUMENT);
  });

  it('creates an order and commits its message in the outbox; an order the local transaction refuses is rolled back', async () => {
    const sc = (s = await OrderEventsScenario.start('rpc producer', { nats: false }));
    const orderId = idFor('rpc producer order');
    const ok = await sc.createOrder({ orderId, quantity: 2 });
    expect(succeeded(ok)).toBe(true);
    const out = outputOf(ok);
    expect(out).toEqual({ orderId, messageId: `order-created:${orderId}`, messageState: 'COMMITTED' });
    expect(await sc.orderRows(orderId)).toEqual([{ status: 'CREATED', message_id: out.messageId }]);
    const rows = await outbox(sc, out.messageId);
    expect(rows).toHaveLength(1);
    expect(JSON.parse(rows[0]!.payload.toString())).toEqual({ orderId, userId: 'user-1', sku: 'sku-1', quantity: 2 });

    const tooLarge = idFor('rpc producer too large');
    const refused = await sc.createOrder({ orderId: tooLarge, quantity: 1000 });
    expect(refused.outcome).toBe(StepOutcome.STEP_OUTCOME_FAILED);
    expect(refused.errorCode).toBe('ORDER_TOO_LARGE');
    expect((await sc.messages.get(`order-created:${tooLarge}`)).state).toBe(MessageState.MESSAGE_STATE_ROLLED_BACK);
    expect(await sc.orderRows(tooLarge)).toEqual([]);
    expect(await outbox(sc, `order-created:${tooLarge}`)).toEqual([]);
  });

  it('survives kill -9 right after a prepare: after the restart the check-back asks the producer and rolls it back', async () => {
    const sc = (s = await OrderEventsScenario.start('rpc crash prepared', { nats: false, coordinatorEnv: { SAGA_TEST_CRASH_AT: 'message-after-prepare' } }));
    const id = idFor('rpc crash prepared');
    const err = await grpcError(
      sc.messages.prepare({ messageId: id, subject: 'orders.created', key: 'order-x', producer: PRODUCER, checkPolicy: { checkAfterMs: 300, checkIntervalMs: 200, maxChecks: 5, checkTimeoutMs: 2000 } }),
    );
    expect(err.code).toBe(status.UNAVAILABLE);
    expect((await sc.coordinator.exited).signal).toBe('SIGKILL');
    await sc.restartCoordinator({ withNats: false });
    // Prepared before the crash: durable, and checked back once due.
    const m = await waitFor(async () => {
      const cur = await sc.messages.get(id);
      return cur.state !== MessageState.MESSAGE_STATE_PREPARED && cur;
    }, 'the check-back');
    expect(m.state).toBe(MessageState.MESSAGE_STATE_ROLLED_BACK);
    expect(m.checks).toBe(1);
    expect(m.reason).toBe('check-back 1 answered ROLLBACK');
    // The producer remembers its answer: a late local commit of this message is impossible.
    expect(await queryDb(sc.db('orders'), 'SELECT status FROM tx_message_log WHERE message_id = ?', [id])).toEqual([{ status: 'ROLLED_BACK' }]);
    expect(await outbox(sc, id)).toEqual([]);
  });

  it('holds a committed message with deliver_at until it is due, across a kill -9', async () => {
    const sc = (s = await OrderEventsScenario.start('rpc deliver at', { nats: false }));
    const id = idFor('rpc deliver at');
    const deliverAt = new Date(Date.now() + 2500);
    await sc.messages.prepare({ messageId: id, subject: 'orders.created', producer: PRODUCER, checkPolicy: later, deliverAt });
    await sc.messages.commit(id);
    expect(await outbox(sc, id)).toEqual([]);
    await sc.coordinator.crash();
    await sc.restartCoordinator({ withNats: false });
    const rows = await waitFor(async () => {
      const r = await outbox(sc, id);
      return r.length > 0 && r;
    }, 'the delayed delivery', 15_000);
    expect(rows).toHaveLength(1);
    expect(Date.now()).toBeGreaterThanOrEqual(deliverAt.getTime());
    expect((await sc.messages.get(id)).deliverAt?.getTime()).toBe(deliverAt.getTime());
  });
});
