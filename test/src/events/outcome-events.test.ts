// Outcome events on NATS JetStream through the outbox, with a real
// nats-server: exactly one event per outcome seen by a durable consumer, the
// subjects and fields, metrics that match the sagas run, sagas that keep
// completing while NATS is down and a backlog that is delivered (none lost)
// when it returns, and the opt-in step events in per-saga order.

import { CompensationStatus, ForwardStatus, SagaEvent, SagaOutcome, SagaState, StepEvent, StepStatus, Operation, TccPhase, TransactionKind } from '@saga/proto';
import { describe, expect, it } from 'vitest';
import { idFor } from '../support/test-dir.js';
import { waitFor } from '../support/wait-for.js';
import { closedAfterEach, step, stepsFor, type EventsFixture, type SagaKind } from './events-fixture.js';
import type { Received } from './stream-collector.js';

const fixture = closedAfterEach();

const OUTCOME: Record<string, SagaOutcome> = {
  completed: SagaOutcome.SAGA_OUTCOME_COMPLETED,
  retried: SagaOutcome.SAGA_OUTCOME_COMPLETED,
  compensated: SagaOutcome.SAGA_OUTCOME_COMPENSATED,
  manual: SagaOutcome.SAGA_OUTCOME_MANUAL,
};

async function run(fx: EventsFixture, name: string, kind: SagaKind, test: string): Promise<string> {
  const sagaId = idFor(test, kind);
  const r = await fx.client.start({ sagaId, name, steps: stepsFor(kind), waitMs: 20_000, metadata: { tenant: 't1' } });
  expect(r.outcome, `${kind} saga ${sagaId}`).toBe(OUTCOME[kind]);
  return sagaId;
}

/** Every message received for each saga id, in stream order. */
function bySaga<T extends { sagaId: string }>(received: readonly Received<T>[]): Map<string, Received<T>[]> {
  const out = new Map<string, Received<T>[]>();
  for (const r of [...received].sort((a, b) => a.seq - b.seq)) {
    const list = out.get(r.value.sagaId) ?? [];
    list.push(r);
    out.set(r.value.sagaId, list);
  }
  return out;
}

async function settled(fx: EventsFixture, collector: { outstanding(): Promise<number> }): Promise<void> {
  await waitFor(async () => (await fx.scrape()).value('saga_outbox_backlog') === 0, 'an empty outbox backlog');
  await waitFor(async () => (await collector.outstanding().catch(() => 1)) === 0, 'the consumer to have everything');
}

describe('outcome events', () => {
  it('publishes exactly one event per outcome, and the metrics match the sagas run', async () => {
    const fx = await fixture('outcome events');
    const events = await fx.collector('outcomes', 'saga.events.>');
    const test = 'outcome events';
    const ok = [
      ...(await Promise.all([1, 2, 3, 4].map(() => run(fx, 'order-ok', 'completed', test)))),
      await run(fx, 'order-ok', 'retried', test),
    ];
    const compensated = await Promise.all([1, 2, 3].map(() => run(fx, 'order-bad', 'compensated', test)));
    const manual = await Promise.all([1, 2].map(() => run(fx, 'order-bad', 'manual', test)));
    const resolved = manual[0]!;
    expect(await fx.client.resolve(resolved, 'refunded by hand')).toBe(SagaState.SAGA_STATE_RESOLVED);

    await events.waitForCount(ok.length + compensated.length + manual.length + 1, 'every outcome event');
    // The alert rules are evaluated on their own timer: the alert's event may be
    // written to the outbox after the last outcome event, so wait for it first.
    await waitFor(
      async () => (await fx.scrape()).value('saga_alert_transitions_total', { kind: 'compensation_success_rate', state: 'firing' }) === 1,
      'the compensation success-rate alert to fire',
    );
    await settled(fx, events);
    const received = events.received;
    expect(new Set(received.map((r) => r.msgId)).size, 'no event delivered twice').toBe(received.length);
    expect(received.every((r) => !r.redelivered && r.msgId === r.value.eventId)).toBe(true);

    const per = bySaga(received);
    const states = (id: string): SagaState[] => (per.get(id) ?? []).map((r) => r.value.state);
    for (const id of ok) expect(states(id), id).toEqual([SagaState.SAGA_STATE_COMPLETED]);
    for (const id of compensated) expect(states(id), id).toEqual([SagaState.SAGA_STATE_COMPENSATED]);
    expect(states(manual[1]!)).toEqual([SagaState.SAGA_STATE_MANUAL]);
    expect(states(resolved)).toEqual([SagaState.SAGA_STATE_MANUAL, SagaState.SAGA_STATE_RESOLVED]);
    expect(per.size).toBe(ok.length + compensated.length + manual.length);

    const first = per.get(compensated[0]!)![0]!;
    expect(first.subject).toBe('saga.events.order-bad.compensated');
    expect(first.value).toMatchObject({ sagaName: 'order-bad', failedStep: 'charge', metadata: { tenant: 't1' } });
    expect(first.value.reason).not.toBe('');
    expect(first.value.createdAt!.getTime()).toBeLessThanOrEqual(first.value.occurredAt!.getTime());
    const last = per.get(resolved)!.at(-1)!;
    expect(last.subject).toBe('saga.events.order-bad.resolved');
    expect(last.value.resolutionNote).toBe('refunded by hand');
    expect(per.get(ok[0]!)![0]!.subject).toBe('saga.events.order-ok.completed');

    const m = await fx.scrape();
    expect(m.value('saga_sagas_started_total', { saga: 'order-ok' })).toBe(5);
    expect(m.value('saga_sagas_started_total', { saga: 'order-bad' })).toBe(5);
    expect(m.value('saga_sagas_finished_total', { saga: 'order-ok', outcome: 'completed' })).toBe(5);
    expect(m.value('saga_sagas_finished_total', { saga: 'order-bad', outcome: 'compensated' })).toBe(3);
    expect(m.value('saga_sagas_finished_total', { saga: 'order-bad', outcome: 'manual' })).toBe(2);
    expect(m.value('saga_sagas_finished_total', { saga: 'order-bad', outcome: 'resolved' })).toBe(1);
    expect(m.value('saga_sagas_manual')).toBe(1);
    expect(m.value('saga_sagas_in_flight')).toBe(0);
    expect(m.value('saga_step_retries_total', { saga: 'order-ok', step: 'reserve', operation: 'execute' })).toBe(1);
    expect(m.value('saga_step_duration_seconds_count', { saga: 'order-ok', step: 'reserve', operation: 'execute', outcome: 'error' })).toBe(1);
    expect(m.value('saga_step_duration_seconds_count', { saga: 'order-ok', step: 'charge', operation: 'execute', outcome: 'succeeded' })).toBe(5);
    expect(m.value('saga_step_duration_seconds_count', { saga: 'order-bad', step: 'reserve', operation: 'compensate', outcome: 'failed' })).toBe(2);
    expect(m.value('saga_compensation_duration_seconds_count', { saga: 'order-bad', outcome: 'compensated' })).toBe(3);
    expect(m.value('saga_compensation_duration_seconds_count', { saga: 'order-bad', outcome: 'manual' })).toBe(2);
    // Start to outcome, one sample per saga; a resolved saga keeps its MANUAL sample only.
    expect(m.value('saga_duration_seconds_count', { saga: 'order-ok', outcome: 'completed' })).toBe(5);
    expect(m.value('saga_duration_seconds_count', { saga: 'order-bad', outcome: 'compensated' })).toBe(3);
    expect(m.value('saga_duration_seconds_count', { saga: 'order-bad', outcome: 'manual' })).toBe(2);
    expect(m.value('saga_duration_seconds_sum', { saga: 'order-ok', outcome: 'completed' })).toBeGreaterThan(0);
    // 2 of 5 compensations failed: the success-rate alert fired, and its event went out too.
    expect(m.value('saga_alert_transitions_total', { kind: 'compensation_success_rate', state: 'firing' })).toBe(1);
    expect(m.value('saga_outbox_published_total')).toBe(received.length + m.sum('saga_alert_transitions_total'));
    expect(m.value('saga_outbox_backlog')).toBe(0);
    expect(m.value('saga_nats_connection_state', { state: 'connected' })).toBe(1);
    // No per-saga label: no saga id anywhere in the exposition.
    for (const id of [...ok, ...compensated, ...manual]) expect(m.text).not.toContain(id);
  });

  it('publishes the outcomes of TCC transactions on the same stream, with their kind and phase; their metrics carry kind="tcc"', async () => {
    const fx = await fixture('tcc outcome events');
    const events = await fx.collector('tcc-outcomes', 'saga.events.>');
    const start = async (name: string, tryAction: string): Promise<string> => {
      const sagaId = idFor('tcc outcome events', name);
      const branches = [step('stock', 'ok', ''), step('points', tryAction, '')];
      const r = await fx.client.start({ sagaId, name, kind: TransactionKind.TRANSACTION_KIND_TCC, steps: branches, waitMs: 20_000 });
      expect(r.outcome).toBe(tryAction === 'ok' ? SagaOutcome.SAGA_OUTCOME_COMPLETED : SagaOutcome.SAGA_OUTCOME_COMPENSATED);
      return sagaId;
    };
    const confirmed = await start('tcc-ok', 'ok');
    const cancelled = await start('tcc-bad', 'fail');
    await events.waitForCount(2, 'both outcome events');
    await settled(fx, events);
    const per = bySaga(events.received);
    expect(per.get(confirmed)!.map((r) => [r.subject, r.value.kind, r.value.phase, r.value.forwardStatus])).toEqual([
      ['saga.events.tcc-ok.completed', TransactionKind.TRANSACTION_KIND_TCC, TccPhase.TCC_PHASE_CONFIRM, ForwardStatus.FORWARD_STATUS_SUCCEEDED],
    ]);
    expect(per.get(cancelled)!.map((r) => [r.subject, r.value.kind, r.value.phase, r.value.compensationStatus, r.value.failedStep])).toEqual([
      ['saga.events.tcc-bad.compensated', TransactionKind.TRANSACTION_KIND_TCC, TccPhase.TCC_PHASE_CANCEL, CompensationStatus.COMPENSATION_STATUS_SUCCEEDED, 'points'],
    ]);
    const m = await fx.scrape();
    expect(m.value('saga_sagas_started_total', { saga: 'tcc-ok', kind: 'tcc' })).toBe(1);
    expect(m.value('saga_sagas_finished_total', { saga: 'tcc-bad', outcome: 'compensated', kind: 'tcc' })).toBe(1);
    expect(m.value('saga_step_duration_seconds_count', { saga: 'tcc-ok', step: 'points', operation: 'confirm', outcome: 'succeeded', kind: 'tcc' })).toBe(1);
    expect(m.value('saga_step_duration_seconds_count', { saga: 'tcc-bad', step: 'stock', operation: 'cancel', outcome: 'succeeded', kind: 'tcc' })).toBe(1);
  });

  it('keeps completing sagas while NATS is down and delivers the whole backlog when it returns', async () => {
    const fx = await fixture('nats outage');
    const events = await fx.collector('outage', 'saga.events.>');
    const test = 'nats outage';
    const before = await run(fx, 'outage', 'completed', test);
    await events.waitForCount(1, 'the event published before the outage');
    // Received is not yet acknowledged: until the coordinator has the ack, that event is still in its outbox.
    await waitFor(async () => (await fx.scrape()).value('saga_outbox_backlog') === 0, 'the event before the outage acknowledged');

    await fx.stopNats();
    await waitFor(async () => (await fx.scrape()).value('saga_nats_connection_state', { state: 'connected' }) === 0, 'the coordinator to notice');
    const kinds: SagaKind[] = ['completed', 'compensated', 'manual', 'completed', 'retried', 'compensated'];
    const during = await Promise.all(kinds.map((k) => run(fx, 'outage', k, test)));
    const m = await fx.scrape();
    expect(m.value('saga_outbox_backlog'), 'the backlog is visible').toBe(during.length);
    expect(m.value('saga_outbox_oldest_unsent_age_seconds')).toBeGreaterThanOrEqual(0);

    await fx.startNats();
    await events.waitForCount(1 + during.length, 'the backlog after NATS returned');
    await settled(fx, events);
    const per = bySaga(events.received);
    for (const id of [before, ...during]) expect(per.get(id)?.length, `events of ${id}`).toBe(1);
    expect(events.received).toHaveLength(1 + during.length);
    expect(new Set(events.received.map((r) => r.msgId)).size).toBe(events.received.length);
  });

  it('publishes opt-in step events, each saga in commit order, before its outcome', async () => {
    const fx = await fixture('step events', { env: { SAGA_STEP_EVENTS: 'true' } });
    type AnyEvent = { kind: 'step'; sagaId: string; e: StepEvent } | { kind: 'saga'; sagaId: string; e: SagaEvent };
    const decode = (data: Uint8Array, subject: string): AnyEvent => {
      if (subject.startsWith('saga.steps.')) {
        const e = StepEvent.decode(data);
        return { kind: 'step', sagaId: e.sagaId, e };
      }
      const e = SagaEvent.decode(data);
      return { kind: 'saga', sagaId: e.sagaId, e };
    };
    const events = await fx.collector<AnyEvent>('steps', 'saga.>', decode);
    const test = 'step events';
    const [completed, retried, compensated] = await Promise.all(
      (['completed', 'retried', 'compensated'] as SagaKind[]).map((k) => run(fx, 'stepped', k, test)),
    );
    await events.waitForCount(5 + 7 + 9, 'step and outcome events');
    await settled(fx, events);
    const per = bySaga(events.received);
    const trace = (id: string): string[] =>
      (per.get(id) ?? []).map((r) => {
        if (r.value.kind === 'saga') return `${r.subject.split('.').at(-1)}`;
        const e = r.value.e;
        const op = e.operation === Operation.OPERATION_EXECUTE ? 'x' : 'c';
        return `${e.stepName}:${op}#${e.attempt}:${StepStatus[e.status].replace('STEP_STATUS_', '').toLowerCase()}`;
      });
    expect(trace(completed!)).toEqual(['reserve:x#1:running', 'reserve:x#1:succeeded', 'charge:x#1:running', 'charge:x#1:succeeded', 'completed']);
    expect(trace(retried!)).toEqual([
      'reserve:x#1:running',
      'reserve:x#1:running',
      'reserve:x#2:running',
      'reserve:x#2:succeeded',
      'charge:x#1:running',
      'charge:x#1:succeeded',
      'completed',
    ]);
    expect(trace(compensated!)).toEqual([
      'reserve:x#1:running',
      'reserve:x#1:succeeded',
      'charge:x#1:running',
      'charge:x#1:failed',
      'charge:c#1:running',
      'charge:c#1:succeeded',
      'reserve:c#1:running',
      'reserve:c#1:succeeded',
      'compensated',
    ]);
    const failedStep = per.get(compensated!)!.find((r) => r.value.kind === 'step' && r.value.e.status === StepStatus.STEP_STATUS_FAILED)!;
    expect(failedStep.subject).toBe('saga.steps.stepped.charge');
    expect(failedStep.value.kind === 'step' && failedStep.value.e.errorCode).toBe('NOPE');
  });
});
