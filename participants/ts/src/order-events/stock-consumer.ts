// The stock service of the order → stock flow: consumes order.created from
// JetStream and deducts the stock exactly once per order event, recording the
// event id with the deduction in one local SQLite transaction (a redelivered
// or re-published event is acknowledged and skipped). Insufficient stock is a
// business outcome, recorded, not retried.

import { SqliteBarrier, type Logger, type SqliteTx } from '@saga/sdk';
import { parseOrderCreated } from './order-created.js';
import type { StockConsumerConfig } from './order-events-config.js';
import { IdempotentConsumer, SqliteProcessedMessageLog, type ConsumedMessage } from '@saga/sdk';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS stock (
  sku      TEXT    PRIMARY KEY,
  quantity INTEGER NOT NULL CHECK (quantity >= 0)
);
CREATE TABLE IF NOT EXISTS stock_movements (
  order_id   TEXT    NOT NULL,
  sku        TEXT    NOT NULL,
  delta      INTEGER NOT NULL,
  status     TEXT    NOT NULL,
  message_id TEXT    NOT NULL,
  created_at INTEGER NOT NULL
);
`;

export interface RunningStockConsumer {
  close(): Promise<void>;
}

export async function startStockConsumer(config: StockConsumerConfig, logger: Logger): Promise<RunningStockConsumer> {
  const barrier = new SqliteBarrier({ path: config.dbPath, logger });
  await barrier.start();
  let deducted = false;
  const log = new SqliteProcessedMessageLog({
    transaction: async (fn) => {
      deducted = false;
      const result = await barrier.transaction(fn);
      // Test fault: the deduction and its record are durable, the ack not yet sent.
      if (config.crashAfterLocalCommit && deducted) process.kill(process.pid, 'SIGKILL');
      return result;
    },
  });
  const deduct = async (m: ConsumedMessage, tx: SqliteTx): Promise<void> => {
    const order = parseOrderCreated(m.payload);
    const { changes } = await tx.run('UPDATE stock SET quantity = quantity - ? WHERE sku = ? AND quantity >= ?', [order.quantity, order.sku, order.quantity]);
    const status = changes === 1 ? 'DEDUCTED' : 'INSUFFICIENT';
    await tx.run('INSERT INTO stock_movements (order_id, sku, delta, status, message_id, created_at) VALUES (?, ?, ?, ?, ?, ?)', [
      order.orderId,
      order.sku,
      changes === 1 ? -order.quantity : 0,
      status,
      m.messageId,
      Date.now(),
    ]);
    deducted = true;
    m.logger.info({ orderId: order.orderId, sku: order.sku, status }, 'stock movement recorded');
  };
  const consumer = new IdempotentConsumer<SqliteTx>({
    servers: config.natsServers,
    durable: config.durable,
    filterSubject: config.subject,
    stream: config.stream,
    log,
    handler: deduct,
    ackWaitMs: config.ackWaitMs,
    logger,
  });
  try {
    await barrier.transaction(async (tx) => {
      await tx.exec(SCHEMA);
      for (const [sku, quantity] of Object.entries(config.stock)) {
        await tx.run('INSERT INTO stock (sku, quantity) VALUES (?, ?) ON CONFLICT (sku) DO NOTHING', [sku, quantity]);
      }
    });
    await log.start();
    await consumer.start();
  } catch (err) {
    await consumer.close();
    await barrier.close();
    throw err;
  }
  let closing: Promise<void> | undefined;
  return {
    close: () => {
      closing ??= consumer.close().finally(() => barrier.close());
      return closing;
    },
  };
}
