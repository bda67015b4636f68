import { TerminalError, type ParticipantServer, type SqliteBarrier, type SqliteTx, type StepContext } from '@saga/sdk';
import type { ExampleService } from '../example-service.js';
import { guardedHandler } from '../guarded-handler.js';
import { jsonOutput, optionalString, parseJsonObject } from '../json-payload.js';

// Orders: create records an order as CREATED (payload: any JSON object, with
// optional "orderId" and "userId") and answers {"orderId"}; cancel marks the
// saga+step's order CANCELLED (state-based: cancelling twice changes nothing).

export const ORDER_EXISTS = 'ORDER_EXISTS';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS orders (
  order_id   TEXT    PRIMARY KEY,
  saga_id    TEXT    NOT NULL,
  step       TEXT    NOT NULL,
  user_id    TEXT    NOT NULL DEFAULT '',
  details    TEXT    NOT NULL,
  status     TEXT    NOT NULL CHECK (status IN ('CREATED', 'CANCELLED')),
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  UNIQUE (saga_id, step)
);
`;

/** The order id: the payload's "orderId", else derived from the saga and step (stable across retries). */
export function orderIdOf(ctx: StepContext, orderId: string | undefined): string {
  return orderId ?? `ord-${ctx.sagaId}-${ctx.step}`;
}

export async function createOrder(tx: SqliteTx, ctx: StepContext): Promise<Buffer> {
  const payload = parseJsonObject(ctx.payload);
  const orderId = orderIdOf(ctx, optionalString(payload, 'orderId'));
  const userId = optionalString(payload, 'userId') ?? '';
  const now = Date.now();
  const { changes } = await tx.run(
    `INSERT OR IGNORE INTO orders (order_id, saga_id, step, user_id, details, status, created_at, updated_at)
     VALUES (?, ?, ?, ?, ?, 'CREATED', ?, ?)`,
    [orderId, ctx.sagaId, ctx.step, userId, JSON.stringify(payload), now, now],
  );
  if (changes === 0) throw new TerminalError(ORDER_EXISTS, `order "${orderId}" already exists`);
  return jsonOutput({ orderId });
}

export async function cancelOrder(tx: SqliteTx, ctx: StepContext): Promise<Buffer> {
  const order = await tx.get<{ order_id: string }>('SELECT order_id FROM orders WHERE saga_id = ? AND step = ?', [
    ctx.sagaId,
    ctx.step,
  ]);
  if (order === undefined) return jsonOutput({ orderId: null, status: 'NONE' });
  await tx.run("UPDATE orders SET status = 'CANCELLED', updated_at = ? WHERE order_id = ? AND status = 'CREATED'", [
    Date.now(),
    order.order_id,
  ]);
  return jsonOutput({ orderId: order.order_id, status: 'CANCELLED' });
}

export const ordersService: ExampleService = {
  name: 'orders',
  migrate: (tx) => tx.exec(SCHEMA),
  seed: () => Promise.resolve(),
  register(server: ParticipantServer, barrier: SqliteBarrier) {
    const cancel = guardedHandler('compensate', barrier, cancelOrder);
    server.register('create', { execute: guardedHandler('execute', barrier, createOrder), compensate: cancel });
    server.register('cancel', { compensate: cancel });
  },
};
