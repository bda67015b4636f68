// The source material's alert rules, with real processes and thresholds made
// small through the config file: each rule fires once when its condition
// starts and clears once when it ends, as an AlertEvent on
// saga.alerts.<kind>, a log line and a metric.

import { AlertEvent, AlertKind, SagaOutcome, SagaState } from '@saga/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { idFor } from '../support/test-dir.js';
import { waitFor } from '../support/wait-for.js';
import { startEventsFixture, stepsFor, type EventsFixture, type SagaKind } from './events-fixture.js';
import type { StreamCollector } from './stream-collector.js';

let fx: EventsFixture;
let alerts: StreamCollector<AlertEvent>;

beforeAll(async () => {
  fx = await startEventsFixture('alerts', {
    config: {
      alerts: {
        evaluateIntervalMs: 50,
        compensationSuccessRate: { threshold: 0.9 },
        manualBacklog: { threshold: 1 },
        slowCompensation: { thresholdMs: 1000 },
      },
    },
  });
  alerts = await fx.collector('alerts', 'saga.alerts.>', (d) => AlertEvent.decode(d));
});

afterAll(async () => {
  await fx.close();
});

async function run(kind: SagaKind, expected: SagaOutcome): Promise<string> {
  const sagaId = idFor('alerts', kind);
  const r = await fx.client.start({ sagaId, name: 'alerting', steps: stepsFor(kind), waitMs: 20_000 });
  expect(r.outcome).toBe(expected);
  return sagaId;
}

/** The firing flags received for a kind, in stream order. */
function transitions(kind: AlertKind): boolean[] {
  return [...alerts.received].sort((a, b) => a.seq - b.seq).filter((r) => r.value.kind === kind).map((r) => r.value.firing);
}

async function waitTransitions(kind: AlertKind, expected: boolean[]): Promise<void> {
  await waitFor(() => transitions(kind).length >= expected.length, `${AlertKind[kind]} events ${JSON.stringify(expected)}`);
  expect(transitions(kind)).toEqual(expected);
}

describe('alert rules', () => {
  it('MANUAL backlog: fires above the threshold and clears when an operator resolves one', async () => {
    const first = await run('manual', SagaOutcome.SAGA_OUTCOME_MANUAL);
    await run('manual', SagaOutcome.SAGA_OUTCOME_MANUAL);
    await waitTransitions(AlertKind.ALERT_KIND_MANUAL_BACKLOG, [true]);
    const fired = alerts.received.find((r) => r.value.kind === AlertKind.ALERT_KIND_MANUAL_BACKLOG)!;
    expect(fired.subject).toBe('saga.alerts.manual_backlog');
    expect(fired.value).toMatchObject({ value: 2, threshold: 1, firing: true });
    expect((await fx.scrape()).value('saga_alert_active', { kind: 'manual_backlog' })).toBe(1);

    expect(await fx.client.resolve(first, 'handled')).toBe(SagaState.SAGA_STATE_RESOLVED);
    await waitTransitions(AlertKind.ALERT_KIND_MANUAL_BACKLOG, [true, false]);
    expect((await fx.scrape()).value('saga_alert_active', { kind: 'manual_backlog' })).toBe(0);
  });

  it('compensation success rate: fires below 90 % over the window and clears when it recovers', async () => {
    // The two MANUAL sagas above were failed compensations: 0 of 2.
    await waitTransitions(AlertKind.ALERT_KIND_COMPENSATION_SUCCESS_RATE, [true]);
    const fired = alerts.received.find((r) => r.value.kind === AlertKind.ALERT_KIND_COMPENSATION_SUCCESS_RATE)!;
    expect(fired.subject).toBe('saga.alerts.compensation_success_rate');
    expect(fired.value).toMatchObject({ value: 0, threshold: 0.9 });
    // 18 successful compensations: 18 of 20 = 90 %, no longer below.
    for (let i = 0; i < 18; i++) await run('compensated', SagaOutcome.SAGA_OUTCOME_COMPENSATED);
    await waitTransitions(AlertKind.ALERT_KIND_COMPENSATION_SUCCESS_RATE, [true, false]);
    const m = await fx.scrape();
    expect(m.value('saga_compensation_success_ratio')).toBeCloseTo(0.9, 5);
    expect(m.value('saga_alert_active', { kind: 'compensation_success_rate' })).toBe(0);
  });

  it('slow compensation: fires when one runs past the threshold and clears when it ends', async () => {
    const sagaId = idFor('alerts', 'slow');
    await fx.client.start({ sagaId, name: 'alerting', steps: stepsFor('slow-compensation'), waitMs: 0 });
    await waitFor(() => fx.participant.heldFor(sagaId) === 1, 'the compensation to be held');
    await waitTransitions(AlertKind.ALERT_KIND_SLOW_COMPENSATION, [true]);
    const fired = alerts.received.find((r) => r.value.kind === AlertKind.ALERT_KIND_SLOW_COMPENSATION)!;
    expect(fired.subject).toBe('saga.alerts.slow_compensation');
    expect(fired.value.subjectId).toBe(sagaId);
    expect(fired.value.value).toBeGreaterThan(1000);
    expect((await fx.scrape()).value('saga_alert_active', { kind: 'slow_compensation' })).toBe(1);

    fx.participant.release(sagaId);
    await fx.client.waitForState(sagaId, [SagaState.SAGA_STATE_COMPENSATED]);
    await waitTransitions(AlertKind.ALERT_KIND_SLOW_COMPENSATION, [true, false]);
  });

  it('reported each change exactly once: one event, one log line and one count per transition', async () => {
    await waitFor(async () => (await fx.scrape()).value('saga_outbox_backlog') === 0, 'an empty outbox backlog');
    await waitFor(async () => (await alerts.outstanding()) === 0, 'the consumer to have everything');
    for (const kind of [AlertKind.ALERT_KIND_MANUAL_BACKLOG, AlertKind.ALERT_KIND_COMPENSATION_SUCCESS_RATE, AlertKind.ALERT_KIND_SLOW_COMPENSATION]) {
      expect(transitions(kind), AlertKind[kind]).toEqual([true, false]);
    }
    expect(alerts.received).toHaveLength(6);
    const m = await fx.scrape();
    for (const kind of ['manual_backlog', 'compensation_success_rate', 'slow_compensation']) {
      expect(m.value('saga_alert_transitions_total', { kind, state: 'firing' }), kind).toBe(1);
      expect(m.value('saga_alert_transitions_total', { kind, state: 'cleared' }), kind).toBe(1);
      expect(m.value('saga_alert_active', { kind }), kind).toBe(0);
      const lines = fx.coordinator.logs().split('\n').filter((l) => l.includes(`"alert":"${kind}"`));
      expect(lines.map((l) => (JSON.parse(l) as { firing: boolean }).firing), kind).toEqual([true, false]);
    }
  });
});
