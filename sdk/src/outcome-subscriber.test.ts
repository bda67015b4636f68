// subscribeOutcomes against a real nats-server with JetStream (the test
// command installs it): events published as the coordinator does are decoded,
// filtered by saga name and state, acknowledged, redelivered after a handler
// failure, and a durable subscription resumes where it stopped.

import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { CompensationStatus, ForwardStatus, SagaEvent, SagaState, TccPhase, TransactionKind } from '@saga/proto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNatsServer, type TestNatsServer } from './nats-server-for-tests.js';
import { subscribeOutcomes, type SagaOutcomeEvent } from './outcome-subscriber.js';

let server: TestNatsServer | undefined;
let dir: string;
let nc: NatsConnection;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sdk-outcomes-'));
  server = await startNatsServer(dir);
  nc = await connect({ servers: server.url, timeout: 5000 });
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: 'SAGA_EVENTS', subjects: ['saga.events.>'] });
});

afterAll(async () => {
  await nc?.close();
  await server?.stop();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

let n = 0;
/** Publishes a SagaEvent as the coordinator does. */
async function publish(sagaName: string, state: 'completed' | 'compensated' | 'manual' | 'resolved'): Promise<string> {
  n += 1;
  const eventId = `ev-${n}-${Math.random().toString(36).slice(2)}`;
  const stateEnum = {
    completed: SagaState.SAGA_STATE_COMPLETED,
    compensated: SagaState.SAGA_STATE_COMPENSATED,
    manual: SagaState.SAGA_STATE_MANUAL,
    resolved: SagaState.SAGA_STATE_RESOLVED,
  }[state];
  const event: SagaEvent = {
    eventId,
    sagaId: `saga-${n}`,
    sagaName,
    state: stateEnum,
    forwardStatus: state === 'completed' ? ForwardStatus.FORWARD_STATUS_SUCCEEDED : ForwardStatus.FORWARD_STATUS_FAILED,
    compensationStatus: state === 'compensated' ? CompensationStatus.COMPENSATION_STATUS_SUCCEEDED : CompensationStatus.COMPENSATION_STATUS_NOT_NEEDED,
    createdAt: new Date(1000),
    occurredAt: new Date(1250),
    durationMs: 250,
    failedStep: state === 'completed' ? '' : 'charge',
    reason: '',
    resolutionNote: '',
    metadata: { tenant: 't1' },
    truncatedFields: state === 'compensated' ? ['reason'] : [],
    kind: TransactionKind.TRANSACTION_KIND_SAGA,
    phase: TccPhase.TCC_PHASE_UNSPECIFIED,
  };
  await jetstream(nc).publish(`saga.events.${sagaName}.${state}`, SagaEvent.encode(event).finish(), { msgID: eventId });
  return eventId;
}

describe('subscribeOutcomes', () => {
  it('delivers decoded events of the chosen saga and states, and resumes a durable subscription where it stopped', async () => {
    const seen: SagaOutcomeEvent[] = [];
    const options = {
      connection: nc,
      durableName: 'orders-failures',
      sagaName: 'order',
      states: ['COMPENSATED', 'MANUAL'] as const,
      handler: (e: SagaOutcomeEvent) => void seen.push(e),
    };
    const sub = await subscribeOutcomes({ ...options, states: [...options.states] });
    expect(sub.filterSubject).toBe('saga.events.order.*');
    await publish('order', 'completed');
    const compensated = await publish('order', 'compensated');
    await publish('refund', 'manual');
    const manual = await publish('order', 'manual');
    await expect.poll(() => seen.length >= 2, { message: 'two events', timeout: 10_000 }).toBe(true);
    expect(seen.map((e) => e.eventId)).toEqual([compensated, manual]);
    expect(seen[0]).toMatchObject({
      sagaName: 'order',
      state: 'COMPENSATED',
      forwardStatus: 'FAILED',
      compensationStatus: 'SUCCEEDED',
      durationMs: 250,
      failedStep: 'charge',
      metadata: { tenant: 't1' },
      truncatedFields: ['reason'],
      subject: 'saga.events.order.compensated',
    });
    expect(seen[0]!.occurredAt?.getTime()).toBe(1250);
    await sub.stop();

    // While stopped: one more. The durable consumer resumes with it, nothing earlier again.
    const later = await publish('order', 'compensated');
    const again = await subscribeOutcomes({ ...options, states: [...options.states] });
    await expect.poll(() => seen.length >= 3, { message: 'the event published while stopped', timeout: 10_000 }).toBe(true);
    expect(seen.map((e) => e.eventId)).toEqual([compensated, manual, later]);
    await again.stop();
  });

  it('delivers an event again when the handler throws', async () => {
    const deliveries: number[] = [];
    const sub = await subscribeOutcomes({
      connection: nc,
      durableName: 'flaky-handler',
      sagaName: 'payment',
      retryDelayMs: 10,
      handler: (_e, d) => {
        deliveries.push(d.deliveryCount);
        if (d.deliveryCount === 1) throw new Error('database busy');
      },
    });
    await publish('payment', 'resolved');
    await expect.poll(() => deliveries.length >= 2, { message: 'a redelivery', timeout: 10_000 }).toBe(true);
    expect(deliveries.slice(0, 2)).toEqual([1, 2]);
    await sub.stop();
  });

  it('refuses bad options, naming them', async () => {
    const handler = (): void => undefined;
    await expect(subscribeOutcomes({ connection: nc, durableName: 'a.b', handler })).rejects.toThrow(/durableName/);
    await expect(subscribeOutcomes({ connection: nc, durableName: 'ok', handler, states: [] })).rejects.toThrow(/states/);
    await expect(subscribeOutcomes({ connection: nc, durableName: 'ok', handler, sagaName: 'a.*' })).rejects.toThrow(/sagaName/);
  });
});
