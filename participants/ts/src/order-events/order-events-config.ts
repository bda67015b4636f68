// Environment of the order-events example processes. Every error names the
// variable.

import type { CheckPolicyOptions } from '@saga/sdk';

export interface OrderProducerConfig {
  readonly host: string;
  readonly port: number;
  readonly dbPath: string;
  /** COORDINATOR_ADDRESS host:port. */
  readonly coordinator: string;
  /** PRODUCER_NAME: the participant name the coordinator knows this process by. Default order-events. */
  readonly producer: string;
  /** ORDER_EVENTS_SUBJECT. Default orders.created. */
  readonly subject: string;
  /** MESSAGE_CHECK_AFTER_MS, MESSAGE_CHECK_INTERVAL_MS, MESSAGE_MAX_CHECKS, MESSAGE_CHECK_TIMEOUT_MS; unset = the coordinator's. */
  readonly checkPolicy: CheckPolicyOptions;
  /** Test faults: ORDER_PRODUCER_CRASH_AT=before-local-commit|after-local-commit (SIGKILL itself there, once). */
  readonly crashAt: 'before-local-commit' | 'after-local-commit' | undefined;
  /** ORDER_PRODUCER_CHECK_ANSWER=UNKNOWN: a broken producer that never knows. */
  readonly alwaysUnknown: boolean;
}

export interface StockConsumerConfig {
  readonly dbPath: string;
  /** NATS_URL: comma-separated server URLs. */
  readonly natsServers: string[];
  readonly subject: string;
  /** STOCK_CONSUMER_DURABLE. Default stock-order-events. */
  readonly durable: string;
  /** STOCK_STREAM; unset = the stream that captures the subject. */
  readonly stream: string | undefined;
  /** STOCK_CONSUMER_ACK_WAIT_MS: unacknowledged messages are redelivered after this (set when the durable consumer is created). Default 30000. */
  readonly ackWaitMs: number;
  /** PARTICIPANT_SEED {"stock": {"sku": quantity}}. */
  readonly stock: Readonly<Record<string, number>>;
  /** Test fault: STOCK_CONSUMER_CRASH_AT=after-local-commit (SIGKILL before the ack, once). */
  readonly crashAfterLocalCommit: boolean;
}

export function loadOrderProducerConfig(env: NodeJS.ProcessEnv): OrderProducerConfig {
  const crashAt = env.ORDER_PRODUCER_CRASH_AT || undefined;
  if (crashAt !== undefined && crashAt !== 'before-local-commit' && crashAt !== 'after-local-commit') {
    throw new Error(`ORDER_PRODUCER_CRASH_AT must be before-local-commit or after-local-commit; got "${crashAt}"`);
  }
  const answer = env.ORDER_PRODUCER_CHECK_ANSWER || '';
  if (answer !== '' && answer !== 'UNKNOWN') throw new Error(`ORDER_PRODUCER_CHECK_ANSWER may only be UNKNOWN; got "${answer}"`);
  const coordinator = env.COORDINATOR_ADDRESS ?? '';
  if (!/^.+:\d{1,5}$/.test(coordinator)) throw new Error(`COORDINATOR_ADDRESS must be host:port; got "${coordinator}"`);
  const checkPolicy: CheckPolicyOptions = {};
  for (const [name, field] of [
    ['MESSAGE_CHECK_AFTER_MS', 'checkAfterMs'],
    ['MESSAGE_CHECK_INTERVAL_MS', 'checkIntervalMs'],
    ['MESSAGE_MAX_CHECKS', 'maxChecks'],
    ['MESSAGE_CHECK_TIMEOUT_MS', 'checkTimeoutMs'],
  ] as const) {
    if (env[name]) checkPolicy[field] = positiveInteger(name, env[name]);
  }
  return {
    host: env.PARTICIPANT_HOST || '127.0.0.1',
    port: port(env.PARTICIPANT_PORT || '0'),
    dbPath: required(env, 'PARTICIPANT_DB'),
    coordinator,
    producer: env.PRODUCER_NAME || 'order-events',
    subject: env.ORDER_EVENTS_SUBJECT || 'orders.created',
    checkPolicy,
    crashAt,
    alwaysUnknown: answer === 'UNKNOWN',
  };
}

export function loadStockConsumerConfig(env: NodeJS.ProcessEnv): StockConsumerConfig {
  const natsServers = required(env, 'NATS_URL').split(',').map((s) => s.trim()).filter(Boolean);
  const crash = env.STOCK_CONSUMER_CRASH_AT || '';
  if (crash !== '' && crash !== 'after-local-commit') throw new Error(`STOCK_CONSUMER_CRASH_AT may only be after-local-commit; got "${crash}"`);
  let seed: unknown;
  try {
    seed = JSON.parse(env.PARTICIPANT_SEED || '{}');
  } catch {
    throw new Error('PARTICIPANT_SEED must be valid JSON');
  }
  const stock = (seed as { stock?: unknown }).stock ?? {};
  if (typeof stock !== 'object' || stock === null || Object.values(stock).some((q) => !Number.isSafeInteger(q) || (q as number) < 0)) {
    throw new Error('PARTICIPANT_SEED.stock must map SKUs to non-negative integers');
  }
  return {
    dbPath: required(env, 'PARTICIPANT_DB'),
    natsServers,
    subject: env.ORDER_EVENTS_SUBJECT || 'orders.created',
    durable: env.STOCK_CONSUMER_DURABLE || 'stock-order-events',
    stream: env.STOCK_STREAM || undefined,
    ackWaitMs: env.STOCK_CONSUMER_ACK_WAIT_MS ? positiveInteger('STOCK_CONSUMER_ACK_WAIT_MS', env.STOCK_CONSUMER_ACK_WAIT_MS) : 30_000,
    stock: stock as Record<string, number>,
    crashAfterLocalCommit: crash === 'after-local-commit',
  };
}

function required(env: NodeJS.ProcessEnv, name: string): string {
  const v = env[name] ?? '';
  if (v === '') throw new Error(`${name} is required`);
  return v;
}

function port(text: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n > 65_535) throw new Error(`PARTICIPANT_PORT must be an integer in [0, 65535]; got "${text}"`);
  return n;
}

function positiveInteger(name: string, text: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < 1) throw new Error(`${name} must be a positive integer; got "${text}"`);
  return n;
}
