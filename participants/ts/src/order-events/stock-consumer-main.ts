// Entry point of the order-events stock consumer: PARTICIPANT_DB,
// PARTICIPANT_SEED {"stock": {...}}, NATS_URL, ORDER_EVENTS_SUBJECT,
// STOCK_CONSUMER_DURABLE, STOCK_STREAM, STOCK_CONSUMER_ACK_WAIT_MS. Prints {"listening":"<first NATS
// server>"} on stdout once consuming; logs go to stderr; SIGTERM drains and
// exits 0.

import { pino } from 'pino';
import { loadStockConsumerConfig } from './order-events-config.js';
import { startStockConsumer } from './stock-consumer.js';
import { runProcess } from '../run-process.js';

const logger = pino({ level: process.env.LOG_LEVEL ?? 'info', base: { service: 'order-events-stock' } }, pino.destination({ fd: 2, sync: true }));

runProcess(logger, 'order-events stock consumer', async () => {
  const config = loadStockConsumerConfig(process.env);
  const running = await startStockConsumer(config, logger);
  // No server of its own: the ready line names the NATS server it consumes from.
  return { running, listening: (config.natsServers[0] ?? '').replace(/^[a-z]+:\/\//, '') };
});
