// `npm run demo`: starts the coordinator and the four order-scenario
// participants (each with its own SQLite file), runs the order saga twice —
// once succeeding, once with the points step failing — and prints both
// timelines; then the checkout saga's three business-state compensations
// (checkout-demo.ts). Everything it starts is stopped at the end.

import { SagaClient } from '@saga/sdk';
import { startCoordinator, startTsParticipant } from '../support/launchers.js';
import type { ManagedProcess } from '../support/managed-process.js';
import { testDir } from '../support/test-dir.js';
import { runCheckoutDemo } from './checkout-demo.js';
import { renderTimeline } from './saga-timeline.js';

async function main(): Promise<void> {
  const dir = testDir('demo');
  const started: ManagedProcess[] = [];
  try {
    const seeds: Record<string, unknown> = { stock: { stock: { 'sku-1': 10 } }, points: { points: { 'user-1': 50 } } };
    const names = ['orders', 'stock', 'points', 'notification'];
    const participants = await Promise.all(names.map((n) => startTsParticipant(n, { db: dir.file(`${n}.db`), seed: seeds[n] ?? {} })));
    started.push(...participants);
    const coordinator = await startCoordinator({
      db: dir.file('coordinator.db'),
      participants: Object.fromEntries(names.map((n, i) => [n, participants[i]!.address])),
    });
    started.push(coordinator);
    console.log(`coordinator on ${coordinator.address}; participants: ${names.map((n, i) => `${n}@${participants[i]!.address}`).join(', ')}\n`);

    const client = new SagaClient({ address: coordinator.address });
    const order = (points: number) =>
      client
        .saga('place-order')
        .step('create-order', { participant: 'orders', action: 'create', compensateAction: 'cancel', payload: { userId: 'user-1' } })
        .step('reserve-stock', { participant: 'stock', action: 'deduct', compensateAction: 'restore', payload: { sku: 'sku-1', quantity: 2 } })
        .step('deduct-points', { participant: 'points', action: 'deduct', compensateAction: 'restore', payload: { userId: 'user-1', points } })
        .step('notify-user', { participant: 'notification', action: 'send', noCompensation: true, payload: { userId: 'user-1', message: 'order placed' } });

    console.log('1) an order that succeeds (30 points, 50 available):');
    const ok = await order(30).start({ waitMs: 10_000 });
    console.log(renderTimeline(await client.get(ok.sagaId)), '\n');

    console.log('2) an order whose points step fails (30 points again, 20 left): compensated in reverse');
    const failed = await order(30).start({ waitMs: 10_000 });
    console.log(renderTimeline(await client.get(failed.sagaId)));
    client.close();
  } finally {
    for (const p of started.reverse()) await p.stop();
    dir.remove();
  }
  await runCheckoutDemo();
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
