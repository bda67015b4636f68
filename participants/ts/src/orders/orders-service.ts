import { TerminalError, type ParticipantServer, type SqliteBarrier, type SqliteTx, type StepContext } from '@saga/sdk';
import type { ExampleService } from '../example-service.js';
import { guardedHandler } from '../guarded-handler.js';
import { INVALID_PAYLOAD, jsonOutput, optionalString, parseJsonObject, type JsonObject } from '../json-payload.js';
import { NOTIFICATIONS_SCHEMA, recordNotification } from '../notification/notifications-table.js';
import { compensationFor, FORWARD_TRANSITIONS, type OrderState } from './order-states.js';
import { ORDER_TRANSITIONS_SCHEMA, recordTransition } from './order-transitions.js';

// Orders: `create` records an order as CREATED (payload: any JSON object, with
// optional "orderId" and "userId") and answers {"orderId"}; `pay` moves it
// CREATED → PAID and `ship` PAID → SHIPPED (payload: optional "orderId", else
// the saga's one order; `pay` also takes "paymentStep", the step whose output
// holds the payment_id). The compensation of `create` (`cancel`) decides by the
// state it finds: CREATED → CANCELLED, PAID → REFUNDED, SHIPPED → a return is
// started (RETURN_REQUESTED), each time telling the user; any other state
// answers FAILED UNKNOWN_ORDER_STATE, for a human. Every state change is
// recorded in order_transitions.

export const ORDER_EXISTS = 'ORDER_EXISTS';
export const ORDER_NOT_FOUND = 'ORDER_NOT_FOUND';
export const INVALID_ORDER_STATE = 'INVALID_ORDER_STATE';
export const UNKNOWN_ORDER_STATE = 'UNKNOWN_ORDER_STATE';

// status is not constrained to the states this service knows: other tools
// (customer service, a newer version) may write others, and the compensation
// must refuse those rather than guess.
const SCHEMA = `
CREATE TABLE IF NOT EXISTS orders (
  order_id    TEXT    PRIMARY KEY,
  saga_id     TEXT    NOT NULL,
  step        TEXT    NOT NULL,
  user_id     TEXT    NOT NULL DEFAULT '',
  details     TEXT    NOT NULL,
  status      TEXT    NOT NULL,
  payment_ref TEXT    NOT NULL DEFAULT '',
  created_at  INTEGER NOT NULL,
  updated_at  INTEGER NOT NULL,
  UNIQUE (saga_id, step)
);
CREATE TABLE IF NOT EXISTS order_returns (
  order_id     TEXT    PRIMARY KEY,
  saga_id      TEXT    NOT NULL,
  status       TEXT    NOT NULL,
  requested_at INTEGER NOT NULL
);
${ORDER_TRANSITIONS_SCHEMA}
${NOTIFICATIONS_SCHEMA}
`;

interface OrderRow {
  order_id: string;
  user_id: string;
  status: string;
  payment_ref: string;
}

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
  await recordTransition(tx, ctx.logger, { orderId, from: null, to: 'CREATED', sagaId: ctx.sagaId, step: ctx.step }, now);
  return jsonOutput({ orderId });
}

/** The `pay` / `ship` actions: a forward transition of the saga's order. */
function advanceOrder(action: keyof typeof FORWARD_TRANSITIONS) {
  const { from, to } = FORWARD_TRANSITIONS[action];
  return async (tx: SqliteTx, ctx: StepContext): Promise<Buffer> => {
    const payload = parseJsonObject(ctx.payload);
    const order = await sagaOrder(tx, ctx, optionalString(payload, 'orderId'));
    if (order.status !== from) {
      throw new TerminalError(INVALID_ORDER_STATE, `order "${order.order_id}" is ${order.status}; ${action} needs ${from}`);
    }
    if (action === 'pay') {
      const paymentRef = paymentRefOf(ctx, payload);
      await tx.run('UPDATE orders SET payment_ref = ? WHERE order_id = ?', [paymentRef, order.order_id]);
    }
    await recordTransition(tx, ctx.logger, { orderId: order.order_id, from, to, sagaId: ctx.sagaId, step: ctx.step });
    return jsonOutput({ orderId: order.order_id, status: to });
  };
}

/** The compensation of `create`: decided by the order's state when it runs. */
export async function compensateOrder(tx: SqliteTx, ctx: StepContext): Promise<Buffer> {
  const order = await tx.get<OrderRow>('SELECT order_id, user_id, status, payment_ref FROM orders WHERE saga_id = ? AND step = ?', [
    ctx.sagaId,
    ctx.step,
  ]);
  if (order === undefined) return jsonOutput({ orderId: null, status: 'NONE' });
  const decision = compensationFor(order.status);
  switch (decision.kind) {
    case 'unknown':
      throw new TerminalError(
        UNKNOWN_ORDER_STATE,
        `order "${order.order_id}" is in state "${decision.state}", for which no compensation is defined; it needs manual handling`,
      );
    case 'already':
      return jsonOutput({ orderId: order.order_id, status: decision.state });
    case 'transition': {
      const from = order.status as OrderState;
      const now = Date.now();
      await recordTransition(tx, ctx.logger, { orderId: order.order_id, from, to: decision.to, sagaId: ctx.sagaId, step: ctx.step }, now);
      if (decision.path === 'return') {
        await tx.run("INSERT OR IGNORE INTO order_returns (order_id, saga_id, status, requested_at) VALUES (?, ?, 'REQUESTED', ?)", [
          order.order_id,
          ctx.sagaId,
          now,
        ]);
      }
      const paymentRef = order.payment_ref === '' ? {} : { paymentRef: order.payment_ref };
      await recordNotification(tx, {
        notificationId: `ntf-${order.order_id}-${decision.to}`,
        sagaId: ctx.sagaId,
        step: ctx.step,
        recipient: order.user_id,
        channel: 'email',
        message: `Your order ${order.order_id} was ${decision.notice}.`,
        context: { orderId: order.order_id, from, to: decision.to, ...paymentRef },
      });
      return jsonOutput({ orderId: order.order_id, from, status: decision.to, path: decision.path });
    }
  }
}

async function sagaOrder(tx: SqliteTx, ctx: StepContext, orderId: string | undefined): Promise<OrderRow> {
  const columns = 'order_id, user_id, status, payment_ref';
  const rows =
    orderId === undefined
      ? await tx.all<OrderRow>(`SELECT ${columns} FROM orders WHERE saga_id = ?`, [ctx.sagaId])
      : await tx.all<OrderRow>(`SELECT ${columns} FROM orders WHERE order_id = ?`, [orderId]);
  if (rows.length > 1) {
    throw new TerminalError(INVALID_PAYLOAD, `saga "${ctx.sagaId}" has ${rows.length} orders; payload field "orderId" must name one`);
  }
  const order = rows[0];
  if (order === undefined) {
    throw new TerminalError(ORDER_NOT_FOUND, orderId === undefined ? `saga "${ctx.sagaId}" has no order` : `no order "${orderId}"`);
  }
  return order;
}

/** The payment id from the output of the step named by payload "paymentStep" (empty without one). */
function paymentRefOf(ctx: StepContext, payload: JsonObject): string {
  const step = optionalString(payload, 'paymentStep');
  if (step === undefined) return '';
  const output = ctx.outputs.get(step);
  if (output === undefined) throw new TerminalError(INVALID_PAYLOAD, `payload field "paymentStep": step "${step}" has no output`);
  let paymentId: unknown;
  try {
    paymentId = (JSON.parse(output.toString('utf8')) as { payment_id?: unknown }).payment_id;
  } catch {
    paymentId = undefined;
  }
  if (typeof paymentId !== 'string') {
    throw new TerminalError(INVALID_PAYLOAD, `payload field "paymentStep": the output of "${step}" has no "payment_id"`);
  }
  return paymentId;
}

export const ordersService: ExampleService = {
  name: 'orders',
  migrate: (tx) => tx.exec(SCHEMA),
  seed: () => Promise.resolve(),
  register(server: ParticipantServer, barrier: SqliteBarrier) {
    const compensate = guardedHandler('compensate', barrier, compensateOrder);
    server.register('create', { execute: guardedHandler('execute', barrier, createOrder), compensate });
    server.register('cancel', { compensate });
    server.register('pay', { execute: guardedHandler('execute', barrier, advanceOrder('pay')) });
    server.register('ship', { execute: guardedHandler('execute', barrier, advanceOrder('ship')) });
  },
};
