// The orders service of the order → stock flow, emitting order.created as a
// transactional message: its Execute action "create-order" prepares the
// message, creates the order and records the message id in one local SQLite
// transaction, then commits the message. Its CheckTransaction answers from
// that record, so an order whose process died before CommitMessage is still
// announced, and one that never committed never is.

import { ParticipantServer, SqliteBarrier, TerminalError, type BoundAddress, type Logger, type SqliteTx, type StepContext } from '@saga/sdk';
import { jsonOutput } from '../json-payload.js';
import { orderCreatedMessageId, parseOrderCreated } from './order-created.js';
import type { OrderProducerConfig } from './order-events-config.js';
import { SqliteTxMessageLog, TxMessageClient, TxMessageDecidedError, TxMessageProducer } from '@saga/sdk';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS orders (
  order_id   TEXT    PRIMARY KEY,
  user_id    TEXT    NOT NULL,
  sku        TEXT    NOT NULL,
  quantity   INTEGER NOT NULL,
  status     TEXT    NOT NULL,
  message_id TEXT    NOT NULL,
  created_at INTEGER NOT NULL
);
`;

/** The order's message was rolled back (e.g. by a check-back) before the order could be created; the order id is spent. */
export const ORDER_MESSAGE_ROLLED_BACK = 'ORDER_MESSAGE_ROLLED_BACK';
/** More units than one order may hold: the local transaction refuses it, so its message is rolled back. */
export const ORDER_TOO_LARGE = 'ORDER_TOO_LARGE';
export const MAX_ORDER_QUANTITY = 100;

export interface RunningOrderProducer {
  readonly address: BoundAddress;
  close(): Promise<void>;
}

export async function startOrderProducer(config: OrderProducerConfig, logger: Logger): Promise<RunningOrderProducer> {
  const barrier = new SqliteBarrier({ path: config.dbPath, logger });
  await barrier.start();
  let crashAfterCommit = false;
  const log = new SqliteTxMessageLog({
    transaction: async (fn) => {
      const result = await barrier.transaction(fn);
      // Test fault: the order and its record are durable, CommitMessage not yet sent.
      if (crashAfterCommit) process.kill(process.pid, 'SIGKILL');
      return result;
    },
  });
  const client = new TxMessageClient({ address: config.coordinator });
  const producer = new TxMessageProducer<SqliteTx>({ client, producer: config.producer, log, checkPolicy: config.checkPolicy, logger });
  const server = new ParticipantServer({ host: config.host, port: config.port, logger });
  try {
    await barrier.transaction((tx) => tx.exec(SCHEMA));
    await log.start();
    server.register('create-order', {
      execute: async (ctx: StepContext) => {
        const order = parseOrderCreated(ctx.payload);
        const messageId = orderCreatedMessageId(order.orderId);
        try {
          const sent = await producer.send(
            { messageId, subject: config.subject, key: order.orderId, payload: order, headers: { 'Content-Type': 'application/json' } },
            async (tx) => {
              await tx.run(
                `INSERT INTO orders (order_id, user_id, sku, quantity, status, message_id, created_at) VALUES (?, ?, ?, ?, 'CREATED', ?, ?)`,
                [order.orderId, order.userId, order.sku, order.quantity, messageId, Date.now()],
              );
              // A business rule checked inside the local transaction: failing it rolls the order and the message back.
              if (order.quantity > MAX_ORDER_QUANTITY) throw new TerminalError(ORDER_TOO_LARGE, `an order holds at most ${MAX_ORDER_QUANTITY} units`);
              if (config.crashAt === 'before-local-commit') process.kill(process.pid, 'SIGKILL');
              crashAfterCommit = config.crashAt === 'after-local-commit';
            },
            { signal: ctx.signal },
          );
          return jsonOutput({ orderId: order.orderId, messageId, messageState: sent.state });
        } catch (err) {
          if (!(err instanceof TxMessageDecidedError)) throw err;
          // A retry of an order already created: the same answer as the first time.
          if (err.decided === 'COMMITTED') return jsonOutput({ orderId: order.orderId, messageId, messageState: 'COMMITTED' });
          throw new TerminalError(ORDER_MESSAGE_ROLLED_BACK, `order ${order.orderId} was given up: ${err.message}`);
        }
      },
    });
    const answer = producer.checkTransactionHandler();
    server.onCheckTransaction(config.alwaysUnknown ? () => 'UNKNOWN' : answer);
    const address = await server.start();
    let closing: Promise<void> | undefined;
    return {
      address,
      close: () => {
        closing ??= server.close().finally(() => {
          client.close();
          return barrier.close();
        });
        return closing;
      },
    };
  } catch (err) {
    await server.close();
    client.close();
    await barrier.close();
    throw err;
  }
}
