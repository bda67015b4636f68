// Entry point of the order-events producer (the orders service emitting
// order.created transactionally): PARTICIPANT_HOST/PORT/DB, COORDINATOR_ADDRESS,
// PRODUCER_NAME, ORDER_EVENTS_SUBJECT, MESSAGE_* check policy. Prints
// {"listening":"host:port"} on stdout once ready; logs go to stderr; SIGTERM
// drains and exits 0.

import { pino } from 'pino';
import { loadOrderProducerConfig } from './order-events-config.js';
import { startOrderProducer } from './order-producer.js';
import { runProcess } from '../run-process.js';

const logger = pino({ level: process.env.LOG_LEVEL ?? 'info', base: { service: 'order-events-producer' } }, pino.destination({ fd: 2, sync: true }));

runProcess(logger, 'order-events producer', async () => {
  const config = loadOrderProducerConfig(process.env);
  const running = await startOrderProducer(config, logger);
  return { running, listening: `${config.host}:${running.address.port}` };
});
