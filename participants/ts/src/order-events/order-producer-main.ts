// Entry point of the order-events producer (the orders service emitting
// order.created transactionally): PARTICIPANT_HOST/PORT/DB, COORDINATOR_ADDRESS,
// PRODUCER_NAME, ORDER_EVENTS_SUBJECT, MESSAGE_* check policy. Prints
// {"listening":"host:port"} on stdout once ready; logs go to stderr; SIGTERM
// drains and exits 0.

import { pino } from 'pino';
import { loadOrderProducerConfig } from './order-events-config.js';
import { startOrderProducer } from './order-producer.js';

const logger = pino({ level: process.env.LOG_LEVEL ?? 'info', base: { service: 'order-events-producer' } }, pino.destination({ fd: 2, sync: true }));

async function main(): Promise<void> {
  const config = loadOrderProducerConfig(process.env);
  const running = await startOrderProducer(config, logger);
  process.stdout.write(`${JSON.stringify({ listening: `${config.host}:${running.address.port}` })}\n`);
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
  logger.fatal({ err }, 'order-events producer failed to start');
  process.exit(1);
});
