// Entry point of the order-events stock consumer: PARTICIPANT_DB,
// PARTICIPANT_SEED {"stock": {...}}, NATS_URL, ORDER_EVENTS_SUBJECT,
// STOCK_CONSUMER_DURABLE, STOCK_STREAM, STOCK_CONSUMER_ACK_WAIT_MS. Prints {"listening":"<first NATS
// server>"} on stdout once consuming; logs go to stderr; SIGTERM drains and
// exits 0.

import { pino } from 'pino';
import { loadStockConsumerConfig } from './order-events-config.js';
import { startStockConsumer } from './stock-consumer.js';

const logger = pino({ level: process.env.LOG_LEVEL ?? 'info', base: { service: 'order-events-stock' } }, pino.destination({ fd: 2, sync: true }));

async function main(): Promise<void> {
  const config = loadStockConsumerConfig(process.env);
  const running = await startStockConsumer(config, logger);
  const first = (config.natsServers[0] ?? '').replace(/^[a-z]+:\/\//, '');
  process.stdout.write(`${JSON.stringify({ listening: first })}\n`);
  const shutdown = (signal: string): void => {
    logger.info({ signal }, 'shutting down');
    running.close().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
}

main().catch((err: unknown) => {
  logger.fatal({ err }, 'order-events stock consumer failed to start');
  process.exit(1);
});
