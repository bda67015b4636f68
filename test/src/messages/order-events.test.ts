// Acceptance of transactional messages with real processes and a real
// nats-server: the source material's order → stock flow. The orders producer
// creates an order and emits order.created transactionally; the coordinator
// publishes committed messages to JetStream through its outbox; the stock
// consumer deducts stock exactly once per order. Producer, coordinator and
// consumer are killed (-9) at the dangerous instants.

import { AlertEvent, AlertKind, MessageState, StepOutcome } from '@saga/proto';
import { afterEach, describe, expect, it } from 'vitest';
import { queryDb } from '../support/sqlite-inspect.js';
import { idFor } from '../support/test-dir.js';
import { waitFor } from '../support/wait-for.js';
import { INITIAL_STOCK, OrderEventsScenario, outputOf, PRODUCER, succeeded } from './order-events-scenario.js';

let s: OrderEventsScenario | undefined;

afterEach(async () => {
  await s?.close();
  s = undefined;
});

/**
 * Check-backs soon and often, so that the tests need not wait long; enough of
 * them (6 s) that those failing while the producer restarts do not use them up.
 */
const FAST_CHECKS = { MESSAGE_CHECK_AFTER_MS: '500', MESSAGE_CHECK_INTERVAL_MS: '300', MESSAGE_MAX_CHECKS: '20', MESSAGE_CHECK_TIMEOUT_MS: '2000' };

const messageIdOf = (orderId: string): string => `order-created:${orderId}`;

/** Waits until the consumer recorded the order's stock movement. */
async function consumed(sc: OrderEventsScenario, orderId: string): Promise<{ delta: number; status: string; message_id: string }[]> {
  return waitFor(async () => {
    const rows = await sc.stockMovements(orderId);
    return rows.length > 0 && rows;
  }, `the stock movement of ${orderId}`, 20_000);
}

/**
 * Proves a message was never delivered: a later order, published and consumed
 * in order after it, has gone through, and there is still nothing for it.
 */
async function expectNeverDelivered(sc: OrderEventsScenario, orderId: string, name: string): Promise<void> {
  const later = idFor(name, 'later');
  expect(succeeded(await sc.createOrder({ orderId: later, quantity: 1 }))).toBe(true);
  await consumed(sc, later);
  expect(await sc.stockMovements(orderId)).toEqual([]);
  expect((await sc.streamMessages('orders.created')).filter((m) => m.msgId === messageIdOf(orderId))).toEqual([]);
}

async function expectDeliveredOnce(sc: OrderEventsScenario, orderId: string, quantity: number): Promise<void> {
  const rows = await consumed(sc, orderId);
  expect(rows).toEqual([{ delta: -quantity, status: 'DEDUCTED', message_id: messageIdOf(orderId) }]);
  const inStream = (await sc.streamMessages('orders.created')).filter((m) => m.msgId === messageIdOf(orderId));
  expect(inStream).toHaveLength(1);
  expect(JSON.parse(inStream[0]!.data.toString())).toMatchObject({ orderId, quantity });
  await waitFor(async () => (await sc.messages.get(messageIdOf(orderId))).publishedAt !== undefined, 'published_at');
}

describe('order → stock with transactional messages', () => {
  it('commit path: the order is created, order.created is published once, the stock is deducted once', async () => {
    const sc = (s = await OrderEventsScenario.start('tx commit path'));
    const orderId = idFor('tx commit path');
    const result = await sc.createOrder({ orderId, quantity: 3 });
    expect(outputOf(result)).toEqual({ orderId, messageId: messageIdOf(orderId), messageState: 'COMMITTED' });
    await expectDeliveredOnce(sc, orderId, 3);
    expect(await sc.stock()).toBe(INITIAL_STOCK - 3);
    const m = await sc.messages.get(messageIdOf(orderId));
    expect(m).toMatchObject({ state: MessageState.MESSAGE_STATE_COMMITTED, subject: 'orders.created', key: orderId, checks: 0 });
    expect(m.headers).toEqual({ 'Content-Type': 'application/json' });
  });

  it('rollback path: an order the local transaction refuses is not created and its message is never delivered', async () => {
    const sc = (s = await OrderEventsScenario.start('tx rollback path'));
    const orderId = idFor('tx rollback path');
    const result = await sc.createOrder({ orderId, quantity: 500 });
    expect(result.outcome).toBe(StepOutcome.STEP_OUTCOME_FAILED);
    expect(result.errorCode).toBe('ORDER_TOO_LARGE');
    expect((await sc.messages.get(messageIdOf(orderId))).state).toBe(MessageState.MESSAGE_STATE_ROLLED_BACK);
    expect(await sc.orderRows(orderId)).toEqual([]);
    await expectNeverDelivered(sc, orderId, 'tx rollback path');
    expect(await sc.stock()).toBe(INITIAL_STOCK - 1);
  });

  it('producer killed after its local commit, before CommitMessage: the check-back commits it and the stock is deducted once', async () => {
    const sc = (s = await OrderEventsScenario.start('tx producer dies after commit', { producerEnv: { ...FAST_CHECKS, ORDER_PRODUCER_CRASH_AT: 'after-local-commit' } }));
    const orderId = idFor('tx producer dies after commit');
    await expect(sc.createOrder({ orderId, quantity: 4 })).rejects.toThrow();
    expect((await sc.producer.exited).signal).toBe('SIGKILL');
    expect(await sc.orderRows(orderId)).toEqual([{ status: 'CREATED', message_id: messageIdOf(orderId) }]);
    expect((await sc.messages.get(messageIdOf(orderId))).state).toBe(MessageState.MESSAGE_STATE_PREPARED);
    await sc.restartProducer(FAST_CHECKS);
    await expectDeliveredOnce(sc, orderId, 4);
    const m = await sc.messages.get(messageIdOf(orderId));
    expect(m.state).toBe(MessageState.MESSAGE_STATE_COMMITTED);
    expect(m.checks).toBeGreaterThanOrEqual(1);
    expect(await sc.stock()).toBe(INITIAL_STOCK - 4);
  });

  it('producer killed after its local commit, then the order retried: the retry commits the message instead of repeating the order', async () => {
    const sc = (s = await OrderEventsScenario.start('tx producer retried after commit', {
      producerEnv: { MESSAGE_CHECK_AFTER_MS: '60000', ORDER_PRODUCER_CRASH_AT: 'after-local-commit' },
    }));
    const orderId = idFor('tx producer retried after commit');
    await expect(sc.createOrder({ orderId, quantity: 2 })).rejects.toThrow();
    await sc.restartProducer();
    const retried = await waitFor(() => sc.createOrder({ orderId, quantity: 2 }).catch(() => undefined), 'a successful retry', 20_000, 200);
    expect(outputOf(retried)).toEqual({ orderId, messageId: messageIdOf(orderId), messageState: 'COMMITTED' });
    await expectDeliveredOnce(sc, orderId, 2);
    expect(await sc.orderRows(orderId)).toHaveLength(1);
    expect((await sc.messages.get(messageIdOf(orderId))).checks).toBe(0);
  });

  it('producer killed before its local commit: the check-back rolls it back and nothing is delivered', async () => {
    const sc = (s = await OrderEventsScenario.start('tx producer dies before commit', { producerEnv: { ...FAST_CHECKS, ORDER_PRODUCER_CRASH_AT: 'before-local-commit' } }));
    const orderId = idFor('tx producer dies before commit');
    await expect(sc.createOrder({ orderId, quantity: 4 })).rejects.toThrow();
    expect((await sc.producer.exited).signal).toBe('SIGKILL');
    await sc.restartProducer(FAST_CHECKS);
    expect(await sc.orderRows(orderId)).toEqual([]);
    const m = await waitFor(async () => {
      const cur = await sc.messages.get(messageIdOf(orderId));
      return cur.state !== MessageState.MESSAGE_STATE_PREPARED && cur;
    }, 'the check-back');
    expect(m.state).toBe(MessageState.MESSAGE_STATE_ROLLED_BACK);
    await expectNeverDelivered(sc, orderId, 'tx producer dies before commit');
  });

  it('a producer answering UNKNOWN every time: after the last check the message is discarded and the alert is published', async () => {
    const sc = (s = await OrderEventsScenario.start('tx unknown producer', { producerEnv: { ORDER_PRODUCER_CHECK_ANSWER: 'UNKNOWN' } }));
    const orderId = idFor('tx unknown producer');
    // A half message of the producer's that it never decides (its process lost track of it).
    await sc.messages.prepare({
      messageId: messageIdOf(orderId),
      subject: 'orders.created',
      key: orderId,
      payload: Buffer.from(JSON.stringify({ orderId, sku: 'sku-1', quantity: 2 })),
      producer: PRODUCER,
      checkPolicy: { checkAfterMs: 300, checkIntervalMs: 200, maxChecks: 3, checkTimeoutMs: 2000 },
    });
    const m = await waitFor(async () => {
      const cur = await sc.messages.get(messageIdOf(orderId));
      return cur.state === MessageState.MESSAGE_STATE_DISCARDED && cur;
    }, 'the discard', 20_000);
    expect(m.checks).toBe(3);
    expect(m.reason).toBe('no decision after 3 check-backs (last: UNKNOWN)');
    const alert = await waitFor(async () => {
      const alerts = (await sc.streamMessages('saga.alerts.message_discarded')).map((a) => AlertEvent.decode(a.data));
      return alerts.find((a) => a.subjectId === messageIdOf(orderId));
    }, 'the MESSAGE_DISCARDED alert', 20_000);
    expect(alert).toMatchObject({ kind: AlertKind.ALERT_KIND_MESSAGE_DISCARDED, firing: true, value: 3, threshold: 3 });
    expect(alert.message).toContain(messageIdOf(orderId));
    await expectNeverDelivered(sc, orderId, 'tx unknown producer');
  });

  it('coordinator kill -9 with the message prepared: nothing is delivered uncommitted, and the retried order is delivered once', async () => {
    const sc = (s = await OrderEventsScenario.start('tx coordinator dies prepared', {
      coordinatorEnv: { SAGA_TEST_CRASH_AT: 'message-after-prepare' },
      // The retry below comes long before any check-back.
      producerEnv: { MESSAGE_CHECK_AFTER_MS: '60000' },
    }));
    const orderId = idFor('tx coordinator dies prepared');
    await expect(sc.createOrder({ orderId, quantity: 5 })).rejects.toThrow();
    expect((await sc.coordinator.exited).signal).toBe('SIGKILL');
    // PrepareMessage never answered: the producer did not run its local transaction.
    expect(await sc.orderRows(orderId)).toEqual([]);
    await sc.restartCoordinator();
    expect((await sc.messages.get(messageIdOf(orderId))).state).toBe(MessageState.MESSAGE_STATE_PREPARED);
    expect(await sc.stockMovements(orderId)).toEqual([]);
    // The order service's caller retries (until the producer's channel to the coordinator is back): same order, same message.
    const retried = await waitFor(() => sc.createOrder({ orderId, quantity: 5 }).catch(() => undefined), 'a successful retry', 20_000, 200);
    expect(outputOf(retried).messageState).toBe('COMMITTED');
    await expectDeliveredOnce(sc, orderId, 5);
    expect(await sc.stock()).toBe(INITIAL_STOCK - 5);
  });

  it('coordinator kill -9 with the message committed but not yet published: it is published after the restart, once', async () => {
    const sc = (s = await OrderEventsScenario.start('tx coordinator dies committed', { coordinatorEnv: { SAGA_TEST_CRASH_AT: 'message-after-commit' } }));
    const orderId = idFor('tx coordinator dies committed');
    const result = await sc.createOrder({ orderId, quantity: 6 });
    // The local transaction committed; CommitMessage was durable but never answered.
    expect(outputOf(result).messageState).toBe('PREPARED');
    expect((await sc.coordinator.exited).signal).toBe('SIGKILL');
    const rows = await queryDb<{ sent_at: number | null }>(sc.db('coordinator'), 'SELECT sent_at FROM outbox WHERE id = ?', [messageIdOf(orderId)]);
    expect(rows).toHaveLength(1);
    await sc.restartCoordinator();
    await expectDeliveredOnce(sc, orderId, 6);
    expect((await sc.messages.get(messageIdOf(orderId))).state).toBe(MessageState.MESSAGE_STATE_COMMITTED);
  });

  it('a message committed while the coordinator has no NATS waits in the outbox through a kill -9 and is published once NATS is there', async () => {
    const sc = (s = await OrderEventsScenario.start('tx committed without nats', { coordinatorUsesNats: false, consumer: false }));
    const orderId = idFor('tx committed without nats');
    expect(outputOf(await sc.createOrder({ orderId, quantity: 7 })).messageState).toBe('COMMITTED');
    await sc.coordinator.crash();
    await sc.restartCoordinator({ withNats: true });
    await sc.startConsumer();
    await expectDeliveredOnce(sc, orderId, 7);
  });

  it('duplicate delivery to the consumer (killed after its local commit, before the ack): the stock is deducted once', async () => {
    const sc = (s = await OrderEventsScenario.start('tx duplicate delivery', { consumer: false }));
    await sc.startConsumer({ STOCK_CONSUMER_CRASH_AT: 'after-local-commit' });
    const orderId = idFor('tx duplicate delivery');
    expect(succeeded(await sc.createOrder({ orderId, quantity: 8 }))).toBe(true);
    expect((await sc.consumer!.exited).signal).toBe('SIGKILL');
    expect(await sc.stockMovements(orderId)).toHaveLength(1);
    await sc.startConsumer();
    // JetStream redelivers the unacknowledged message; the consumer recognises it.
    await waitFor(() => /already processed/.test(sc.consumer!.logs()), 'the redelivery to be skipped', 20_000);
    await expectDeliveredOnce(sc, orderId, 8);
    expect(await sc.stock()).toBe(INITIAL_STOCK - 8);
    expect(await queryDb(sc.db('stock'), 'SELECT COUNT(*) AS n FROM processed_messages WHERE message_id = ?', [messageIdOf(orderId)])).toEqual([{ n: 1 }]);
  });
});
