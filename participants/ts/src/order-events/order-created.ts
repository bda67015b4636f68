// The order.created event: what the orders service emits, transactionally,
// when it creates an order, and what the stock service consumes.

import { TerminalError } from '@saga/sdk';
import { INVALID_PAYLOAD, optionalString, parseJsonObject, positiveInteger, requiredString } from '../json-payload.js';

export interface OrderCreated {
  readonly orderId: string;
  readonly userId: string;
  readonly sku: string;
  readonly quantity: number;
}

/** Parses an order (the create-order payload, or an order.created event); malformed = INVALID_PAYLOAD. */
export function parseOrderCreated(bytes: Buffer): OrderCreated {
  const o = parseJsonObject(bytes);
  const orderId = requiredString(o, 'orderId');
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,100}$/.test(orderId)) {
    throw new TerminalError(INVALID_PAYLOAD, 'payload field "orderId" must be letters, digits, "_", "." or "-" (at most 101)');
  }
  return { orderId, userId: optionalString(o, 'userId') ?? '', sku: requiredString(o, 'sku'), quantity: positiveInteger(o, 'quantity') };
}

/** One message per order: retries of the same order reuse it (and its idempotency at the coordinator). */
export function orderCreatedMessageId(orderId: string): string {
  return `order-created:${orderId}`;
}
