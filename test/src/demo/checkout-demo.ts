// The demo's second part: the checkout saga (TS orders, Python payment with its
// gateway stand-in, TS notification) failing at three points, so the order is
// compensated as CREATED (cancel), PAID (refund) and SHIPPED (return). For
// each: the saga's timeline, the order's state changes, the gateway's refund
// requests and what the user was told.

import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { SagaClient } from '@saga/sdk';
import { checkoutSteps, paymentIdOf, startCheckoutScenario, type CheckoutFailure } from '../support/checkout-scenario.js';
import { PYTHON_PARTICIPANT_DIR } from '../support/repo-paths.js';
import { renderOrderTimeline } from './order-timeline.js';
import { renderTimeline } from './saga-timeline.js';

const PATHS: readonly { failure: CheckoutFailure; title: string }[] = [
  { failure: 'payment-refused', title: 'the payment is refused while the order is CREATED → the order is cancelled' },
  { failure: 'shipping-refused', title: 'shipping is refused after payment, the order is PAID → refunded through the gateway' },
  { failure: 'after-shipping', title: 'a step fails after the order SHIPPED → a return is started (and the payment refunded)' },
];

/** The Python participant needs its virtualenv; its setup script is idempotent and quiet when done. */
function ensurePythonParticipant(): void {
  if (existsSync(join(PYTHON_PARTICIPANT_DIR, '.venv', 'bin', 'python')) && existsSync(join(PYTHON_PARTICIPANT_DIR, 'gen'))) return;
  console.log('setting up the Python payment participant (participants/python/scripts/setup.sh) ...');
  execFileSync('bash', [join(PYTHON_PARTICIPANT_DIR, 'scripts', 'setup.sh')], { stdio: ['ignore', 'inherit', 'inherit'] });
}

export async function runCheckoutDemo(): Promise<void> {
  ensurePythonParticipant();
  const sc = await startCheckoutScenario('demo-checkout');
  const client = new SagaClient({ address: sc.coordinator.address });
  try {
    console.log(`\ncheckout saga: create-order → charge-payment (Python) → mark-paid → ship-order → notify-shipped`);
    let n = 3;
    for (const path of PATHS) {
      console.log(`\n${n++}) ${path.title}:`);
      const started = await client.startSaga({ name: 'checkout', steps: checkoutSteps({ failure: path.failure }) }, { waitMs: 20_000 });
      const saga = await client.get(started.sagaId);
      console.log(renderTimeline(saga));
      const order = await sc.order(saga.sagaId);
      if (order !== undefined) console.log(renderOrderTimeline(order.order_id, await sc.transitions(order.order_id), saga.createdAt?.getTime() ?? 0));
      const payment = await sc.payment(saga.sagaId);
      const gateway = await sc.gateway(paymentIdOf(saga.sagaId));
      console.log(
        `  payment: ${payment === undefined ? 'none (charge refused)' : `${payment.payment_id} ${payment.status}${payment.refund_id === null ? '' : ` refund ${payment.refund_id}`}`}` +
          `; gateway: ${gateway.requests} refund request(s), ${gateway.refunds} refund(s)`,
      );
      for (const notice of await sc.notices(saga.sagaId)) console.log(`  user ${notice.recipient} told: "${notice.message}"`);
    }
    console.log(`\nbalance of the account after all three: ${await sc.balance()} cents (started at 10000)`);
  } finally {
    client.close();
    await sc.close();
  }
}
