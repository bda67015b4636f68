// Events NATS cannot carry, against a real nats-server started with a small
// max_payload: PrepareMessage refuses such a payload (INVALID_ARGUMENT naming
// the field and the limit); a committed message that became too large (written
// while NATS was away) is refused by the server, goes to the dead letters with
// an alert after events.outbox.deadLetterAfter refusals, holds back only the
// messages of its key, and is listed and dropped by the operator RPCs.

import { status, type ServiceError } from '@grpc/grpc-js';
import { AlertEvent, AlertKind } from '@saga/proto';
import { describe, expect, it } from 'vitest';
import { MessageRpcClient } from '../messages/message-rpc-client.js';
import { idFor } from '../support/test-dir.js';
import { waitFor } from '../support/wait-for.js';
import { DeadLetterRpcClient } from './dead-letter-rpc-client.js';
import { closedAfterEach, type EventsFixture } from './events-fixture.js';

const start = closedAfterEach();
const MAX_PAYLOAD = 8192;
const config = { nats: { stream: { subjects: ['orders.>'] } }, events: { outbox: { deadLetterAfter: 2 } } };

async function natsConnected(fx: EventsFixture): Promise<void> {
  await waitFor(async () => (await fx.scrape()).value('saga_nats_connection_state', { state: 'connected' }) === 1, 'the NATS link to be ready', 30_000);
}

async function committed(messages: MessageRpcClient, id: string, key: string, bytes: number): Promise<void> {
  await messages.prepare({ messageId: id, subject: 'orders.created', key, producer: 'scripted', payload: Buffer.alloc(bytes, 1) });
  await messages.commit(id);
}

describe('outbox events NATS cannot carry', () => {
  it("refuses at PrepareMessage a payload above the server's max_payload, naming the field and the limit", async () => {
    const name = 'prepare refuses above max_payload';
    const fx = await start(name, { natsMaxPayload: MAX_PAYLOAD, config });
    const messages = new MessageRpcClient(fx.coordinator.address);
    try {
      await natsConnected(fx);
      const err = (await messages
        .prepare({ messageId: idFor(name, 'big'), subject: 'orders.created', producer: 'scripted', payload: Buffer.alloc(MAX_PAYLOAD) })
        .then(() => undefined, (e: unknown) => e)) as ServiceError | undefined;
      expect(err?.code).toBe(status.INVALID_ARGUMENT);
      expect(err?.details).toMatch(new RegExp(`^payload: is ${MAX_PAYLOAD} bytes; .* more than ${MAX_PAYLOAD} bytes, the most NATS carries \\(max_payload\\)$`));
      await expect(messages.prepare({ messageId: idFor(name, 'small'), subject: 'orders.created', producer: 'scripted', payload: Buffer.alloc(1000) })).resolves.toBeDefined();
    } finally {
      messages.close();
    }
  });

  it('dead-letters a committed message the server refuses, alerts, holds back its key only, and lets the key go on once dropped', async () => {
    const name = 'dead letter holds its key only';
    const fx = await start(name, { nats: false, natsConfiguredButDown: true, natsMaxPayload: MAX_PAYLOAD, config });
    const messages = new MessageRpcClient(fx.coordinator.address);
    const operator = new DeadLetterRpcClient(fx.coordinator.address);
    try {
      // Without a server connected the configured limit (960 KiB) applies: this one is accepted.
      const big = idFor(name, 'big');
      const behind = idFor(name, 'behind');
      const other = idFor(name, 'other');
      await committed(messages, big, 'k1', 20_000);
      await committed(messages, behind, 'k1', 100);
      await committed(messages, other, 'k2', 100);
      await fx.startNats();
      const orders = await fx.collector('orders', 'orders.>', (_d, subject) => subject);
      const alerts = await fx.collector('alerts', 'saga.alerts.>', (d) => AlertEvent.decode(d));

      const alert = await waitFor(
        () => alerts.received.find((a) => a.value.kind === AlertKind.ALERT_KIND_OUTBOX_DEAD_LETTER)?.value,
        'the dead-letter alert',
        30_000,
      );
      expect(alert).toMatchObject({ firing: true, subjectId: big, value: 2 });
      await waitFor(() => orders.received.some((r) => r.msgId === other), 'the message of the other key', 30_000);
      expect(orders.received.map((r) => r.msgId)).toEqual([other]);
      const m = await fx.scrape();
      expect(m.value('saga_outbox_dead_lettered_total')).toBe(1);
      expect(m.value('saga_outbox_dead_letters')).toBe(1);

      const listed = await operator.list();
      expect(listed.deadLetters).toHaveLength(1);
      expect(listed.deadLetters[0]).toMatchObject({ eventId: big, subject: 'orders.created', orderingKey: 'message:k1', attempts: 2, waitingBehind: 1 });
      expect(listed.deadLetters[0]?.error).toContain('max_payload');
      expect(listed.nextPageToken).toBe('');

      await operator.drop(big);
      await waitFor(() => orders.received.some((r) => r.msgId === behind), 'the message behind the dropped dead letter', 30_000);
      expect(orders.received.map((r) => r.msgId)).not.toContain(big);
      expect((await operator.list()).deadLetters).toEqual([]);
      await expect(operator.drop(big)).rejects.toMatchObject({ code: status.NOT_FOUND });
    } finally {
      messages.close();
      operator.close();
    }
  });
});
