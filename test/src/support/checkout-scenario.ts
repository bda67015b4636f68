// The source material's order and payment scenarios with real processes:
// TypeScript orders and notification, the Python payment participant (with its
// payment-gateway stand-in), and the coordinator. The checkout saga moves the
// order CREATED → PAID → SHIPPED; where it fails decides what compensating the
// order means (cancel, refund, or start a return).

import type { RetryPolicy, StepDefinition } from '@saga/sdk';
import { startCoordinator, startPythonParticipant, startTsParticipant } from './launchers.js';
import type { ManagedProcess } from './managed-process.js';
import { queryDb, scalar } from './sqlite-inspect.js';
import { testDir } from './test-dir.js';

export const CHECKOUT_SERVICES = ['orders', 'payment', 'notification'] as const;
export type CheckoutService = (typeof CHECKOUT_SERVICES)[number];

export const ACCOUNT = 'acc-1';
export const INITIAL_BALANCE = 10_000;
export const PRICE_CENTS = 2_500;

/** Where the checkout fails, i.e. which state the order is in when it is compensated. */
export type CheckoutFailure =
  /** The charge is refused (INSUFFICIENT_FUNDS): the order is still CREATED → cancelled. */
  | 'payment-refused'
  /** Shipping is refused after payment: the order is PAID → refunded. */
  | 'shipping-refused'
  /** The step after shipping fails: the order is SHIPPED → a return is started. */
  | 'after-shipping'
  | 'none';

const FAST: RetryPolicy = { maxAttempts: 4, attemptTimeoutMs: 2_000, initialBackoffMs: 10, maxBackoffMs: 50, backoffMultiplier: 2 };

export interface CheckoutOptions {
  failure: CheckoutFailure;
  /** Extra fault directives by step name (`fault.execute` / `fault.compensate`). */
  faults?: Readonly<Record<string, { execute?: string; compensate?: string }>>;
  /** Retry policy of the payment's Execute and Compensate (default: 4 fast attempts). */
  paymentRetry?: RetryPolicy;
  paymentCompensationRetry?: RetryPolicy;
}

/** The checkout saga's steps. */
export function checkoutSteps(o: CheckoutOptions): StepDefinition[] {
  const faults = (step: string, injected?: string): Record<string, string> => {
    const meta: Record<string, string> = {};
    const extra = o.faults?.[step];
    const execute = [injected, extra?.execute].filter((f) => f !== undefined).join(',');
    if (execute !== '') meta['fault.execute'] = execute;
    if (extra?.compensate !== undefined) meta['fault.compensate'] = extra.compensate;
    return meta;
  };
  const amount = o.failure === 'payment-refused' ? INITIAL_BALANCE * 100 : PRICE_CENTS;
  return [
    { name: 'create-order', participant: 'orders', action: 'create', compensateAction: 'cancel', payload: { userId: 'user-1' }, retry: FAST, compensationRetry: FAST, metadata: faults('create-order') },
    {
      name: 'charge-payment',
      participant: 'payment',
      action: 'charge',
      compensateAction: 'refund',
      payload: { account: ACCOUNT, amount_cents: amount },
      retry: o.paymentRetry ?? FAST,
      compensationRetry: o.paymentCompensationRetry ?? FAST,
      metadata: faults('charge-payment'),
    },
    { name: 'mark-paid', participant: 'orders', action: 'pay', payload: { paymentStep: 'charge-payment' }, noCompensation: true, retry: FAST, metadata: faults('mark-paid') },
    {
      name: 'ship-order',
      participant: 'orders',
      action: 'ship',
      payload: {},
      noCompensation: true,
      retry: FAST,
      metadata: faults('ship-order', o.failure === 'shipping-refused' ? 'fail' : undefined),
    },
    {
      name: 'notify-shipped',
      participant: 'notification',
      action: 'send',
      payload: { userId: 'user-1', message: 'your order has shipped' },
      noCompensation: true,
      retry: FAST,
      metadata: faults('notify-shipped', o.failure === 'after-shipping' ? 'fail' : undefined),
    },
  ];
}

export interface CheckoutScenario {
  readonly participants: Record<CheckoutService, ManagedProcess>;
  coordinator: ManagedProcess;
  db(service: CheckoutService | 'coordinator' | 'gateway'): string;
  /** Restarts the coordinator on the same log and port (after a crash), with `env`. */
  restartCoordinator(env?: Record<string, string>): Promise<void>;
  /** The order of a saga, as the orders service holds it. */
  order(sagaId: string): Promise<{ order_id: string; status: string; payment_ref: string } | undefined>;
  /** Its state changes, oldest first. */
  transitions(orderId: string): Promise<{ from_state: string | null; to_state: string; step: string; at: number }[]>;
  /** What the user was told about the order (the orders service's notifications). */
  notices(sagaId: string): Promise<{ recipient: string; message: string }[]>;
  /** Refund requests the payment gateway received, and refunds it made, for a payment. */
  gateway(paymentId: string): Promise<{ requests: number; refunds: number }>;
  payment(sagaId: string): Promise<{ payment_id: string; status: string; refund_id: string | null } | undefined>;
  balance(): Promise<number>;
  close(): Promise<void>;
}

export async function startCheckoutScenario(name: string, coordinatorEnv: Record<string, string> = {}): Promise<CheckoutScenario> {
  const dir = testDir(name);
  const db = (s: CheckoutService | 'coordinator' | 'gateway'): string => dir.file(`${s}.db`);
  const started: ManagedProcess[] = [];
  try {
    const [orders, payment, notification] = await Promise.all([
      startTsParticipant('orders', { db: db('orders') }),
      startPythonParticipant({ db: db('payment'), seed: { accounts: { [ACCOUNT]: INITIAL_BALANCE } }, env: { PARTICIPANT_GATEWAY_DB: db('gateway') } }),
      startTsParticipant('notification', { db: db('notification') }),
    ]);
    started.push(orders, payment, notification);
    const participants = { orders, payment, notification };
    const addresses = Object.fromEntries(Object.entries(participants).map(([k, p]) => [k, p.address]));
    const coordinator = await startCoordinator({ db: db('coordinator'), participants: addresses, env: coordinatorEnv });
    const scenario: CheckoutScenario = {
      participants,
      coordinator,
      db,
      async restartCoordinator(env = {}) {
        await scenario.coordinator.stop();
        scenario.coordinator = await startCoordinator({ db: db('coordinator'), participants: addresses, env, port: scenario.coordinator.port });
      },
      order: async (sagaId) =>
        (await queryDb<{ order_id: string; status: string; payment_ref: string }>(db('orders'), 'SELECT order_id, status, payment_ref FROM orders WHERE saga_id = ?', [sagaId]))[0],
      transitions: (orderId) =>
        queryDb(db('orders'), 'SELECT from_state, to_state, step, at FROM order_transitions WHERE order_id = ? ORDER BY seq', [orderId]),
      notices: (sagaId) => queryDb(db('orders'), 'SELECT recipient, message FROM notifications WHERE saga_id = ? ORDER BY sent_at', [sagaId]),
      gateway: async (paymentId) => ({
        requests: await scalar(db('gateway'), 'SELECT COUNT(*) FROM gateway_requests WHERE payment_id = ?', [paymentId]),
        refunds: await scalar(db('gateway'), 'SELECT COUNT(*) FROM gateway_refunds WHERE payment_id = ?', [paymentId]),
      }),
      payment: async (sagaId) =>
        (await queryDb<{ payment_id: string; status: string; refund_id: string | null }>(db('payment'), 'SELECT payment_id, status, refund_id FROM payments WHERE saga_id = ?', [sagaId]))[0],
      balance: () => scalar(db('payment'), 'SELECT balance_cents FROM accounts WHERE account = ?', [ACCOUNT]),
      async close() {
        await scenario.coordinator.stop();
        await Promise.all(Object.values(participants).map((p) => p.stop()));
        dir.remove();
      },
    };
    return scenario;
  } catch (err) {
    await Promise.all(started.map((p) => p.stop()));
    dir.remove();
    throw err;
  }
}

/** The payment id the Python participant gives the charge of a saga. */
export function paymentIdOf(sagaId: string): string {
  return `pay-${sagaId}-charge-payment`;
}
