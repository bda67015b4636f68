// IdempotentConsumer against a real nats-server (JetStream) and a real SQLite
// database: each message's effect happens once, whatever is redelivered.

import { jetstream, jetstreamManager, type JetStreamClient } from '@nats-io/jetstream';
import { connect, headers as natsHeaders, type NatsConnection } from '@nats-io/transport-node';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { IdempotentConsumer, type ConsumedMessage } from './idempotent-consumer.js';
import { startNatsServer, type TestNatsServer } from './nats-server-for-tests.js';
import { SqliteBarrier } from './sqlite-barrier.js';
import { SqliteProcessedMessageLog } from './sqlite-processed-message-log.js';
import type { SqliteTx } from './sqlite-tx.js';

let dir: string;
let nats: TestNatsServer;
let url: string;
let nc: NatsConnection;
let js: JetStreamClient;
let barrier: SqliteBarrier;
const consumers: IdempotentConsumer<SqliteTx>[] = [];

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'idempotent-consumer-'));
  nats = await startNatsServer(join(dir, 'js'));
  url = nats.url;
  nc = await connect({ servers: url });
  js = jetstream(nc);
  barrier = new SqliteBarrier({ path: join(dir, 'stock.db'), cleanupIntervalMs: 0 });
  await barrier.start();
  await barrier.transaction((tx) =>
    tx.exec(`CREATE TABLE stock (sku TEXT PRIMARY KEY, quantity INTEGER NOT NULL);
             INSERT INTO stock VALUES ('sku-1', 100);
             CREATE TABLE movements (message_id TEXT NOT NULL, delta INTEGER NOT NULL);`),
  );
});

afterEach(async () => {
  for (const c of consumers.splice(0)) await c.close();
  await nc.close();
  await barrier.close();
  await nats.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function publish(subject: string, data: object, msgId?: string): Promise<{ duplicate: boolean; seq: number }> {
  const h = natsHeaders();
  h.set('Content-Type', 'application/json');
  return js.publish(subject, JSON.stringify(data), msgId === undefined ? { headers: h } : { msgID: msgId, headers: h });
}

const deduct = async (m: ConsumedMessage, tx: SqliteTx): Promise<void> => {
  const { qty } = JSON.parse(m.payload.toString()) as { qty: number };
  await tx.run('UPDATE stock SET quantity = quantity - ? WHERE sku = ?', [qty, 'sku-1']);
  await tx.run('INSERT INTO movements (message_id, delta) VALUES (?, ?)', [m.messageId, -qty]);
};

async function consumer(
  extra: Partial<ConstructorParameters<typeof IdempotentConsumer<SqliteTx>>[0]> = {},
  transaction: <T>(fn: (tx: SqliteTx) => Promise<T>) => Promise<T> = (fn) => barrier.transaction(fn),
): Promise<IdempotentConsumer<SqliteTx>> {
  const log = new SqliteProcessedMessageLog({ transaction });
  await log.start();
  const c = new IdempotentConsumer<SqliteTx>({
    servers: url,
    durable: 'stock',
    filterSubject: 'orders.created',
    stream: 'ORDERS',
    createStream: { subjects: ['orders.>'] },
    log,
    handler: deduct,
    ackWaitMs: 2000,
    initialRetryDelayMs: 20,
    maxRetryDelayMs: 100,
    ...extra,
  });
  consumers.push(c);
  await c.start();
  return c;
}

const movements = (): Promise<{ message_id: string; delta: number }[]> =>
  barrier.transaction((tx) => tx.all<{ message_id: string; delta: number }>('SELECT message_id, delta FROM movements ORDER BY rowid'));
const quantity = async (): Promise<number> =>
  (await barrier.transaction((tx) => tx.get<{ quantity: number }>("SELECT quantity FROM stock WHERE sku = 'sku-1'")))!.quantity;

describe('IdempotentConsumer', () => {
  it('applies each message once, in stream order, keyed by Nats-Msg-Id (or stream:sequence without one)', async () => {
    await consumer();
    await publish('orders.created', { qty: 1 }, 'm-1');
    await publish('orders.created', { qty: 2 }, 'm-2');
    const plain = await publish('orders.created', { qty: 3 });
    await publish('orders.other', { qty: 50 }, 'm-other');
    await expect.poll(async () => (await movements()).length === 3, { message: 'three movements', timeout: 10_000 }).toBe(true);
    expect(await movements()).toEqual([
      { message_id: 'm-1', delta: -1 },
      { message_id: 'm-2', delta: -2 },
      { message_id: `ORDERS:${plain.seq}`, delta: -3 },
    ]);
    expect(await quantity()).toBe(94);
  });

  it('skips a redelivered message whose transaction committed before the ack was lost', async () => {
    let loseNextAck = false;
    // The local transaction commits, then the "process" fails before acknowledging (as a crash would).
    await consumer({}, async (fn) => {
      const result = await barrier.transaction(fn);
      if (loseNextAck) {
        loseNextAck = false;
        throw new Error('crashed after commit');
      }
      return result;
    });
    loseNextAck = true;
    await publish('orders.created', { qty: 5 }, 'm-lost-ack');
    await expect.poll(async () => {
      const processed = await barrier.transaction((tx) => tx.all('SELECT 1 FROM processed_messages'));
      return processed.length === 1 && !loseNextAck;
    }, { message: 'the first delivery', timeout: 10_000 }).toBe(true);
    // The redelivery is recognised and acknowledged; nothing pending remains.
    await expect.poll(async () => (await (await js.consumers.get('ORDERS', 'stock')).info()).num_ack_pending === 0, { message: 'the ack', timeout: 10_000 }).toBe(true);
    const info = await (await js.consumers.get('ORDERS', 'stock')).info();
    expect(info.num_pending).toBe(0);
    expect(info.delivered.consumer_seq).toBeGreaterThanOrEqual(2);
    expect(await movements()).toEqual([{ message_id: 'm-lost-ack', delta: -5 }]);
    expect(await quantity()).toBe(95);
  });

  it('retries a failing handler with its changes rolled back, and applies it once when it succeeds', async () => {
    const counts: number[] = [];
    await consumer({
      handler: async (m, tx) => {
        counts.push(m.deliveryCount);
        await deduct(m, tx);
        if (m.deliveryCount < 3) throw new Error('database of a dependency is down');
      },
    });
    await publish('orders.created', { qty: 7 }, 'm-flaky');
    await expect.poll(async () => (await movements()).length === 1, { message: 'the movement', timeout: 10_000 }).toBe(true);
    expect(counts).toEqual([1, 2, 3]);
    expect(await quantity()).toBe(93);
  });

  it('is durable: a new instance continues after the last acknowledged message, and a re-published id is skipped', async () => {
    // A short duplicate window, so that a re-publication of the same id lands in the stream again.
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: 'ORDERS', subjects: ['orders.>'], duplicate_window: 100_000_000 });
    const first = await consumer();
    await publish('orders.created', { qty: 1 }, 'm-a');
    await expect.poll(async () => (await movements()).length === 1, { message: 'the first message', timeout: 10_000 }).toBe(true);
    await first.close();
    await publish('orders.created', { qty: 2 }, 'm-b');
    await expect.poll(async () => !(await publish('orders.created', { qty: 1 }, 'm-a')).duplicate, { message: 'a re-publication past the window', timeout: 10_000 }).toBe(true);
    await consumer();
    await expect.poll(async () => {
      const info = await (await js.consumers.get('ORDERS', 'stock')).info();
      return info.num_pending === 0 && info.num_ack_pending === 0 && info.delivered.stream_seq >= 3;
    }, { message: 'all consumed and acknowledged', timeout: 10_000 }).toBe(true);
    expect(await movements()).toEqual([
      { message_id: 'm-a', delta: -1 },
      { message_id: 'm-b', delta: -2 },
    ]);
  });
});
