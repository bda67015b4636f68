// OpenTelemetry traces of a compensated saga, end to end with real processes:
// the coordinator and a participant built on the SDK both export OTLP to an
// in-process receiver. Checks the saga span (parent = StartSaga's traceparent),
// one child span per Execute/Compensate call with its attributes, the
// participant's spans continuing the trace under each call, and that a saga
// resumed after a restart keeps its trace id.

import { SagaClient } from '@saga/sdk';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startCoordinator } from '../support/launchers.js';
import { ManagedProcess } from '../support/managed-process.js';
import { REPO_ROOT } from '../support/repo-paths.js';
import { idFor, testDir } from '../support/test-dir.js';
import { waitFor } from '../support/wait-for.js';
import { OtlpReceiver, type ReceivedSpan } from './otlp-receiver.js';
import { cleanupsAfterEach } from '../support/cleanups.js';

const TRACED_PARTICIPANT = join(REPO_ROOT, 'test', 'dist', 'tracing', 'traced-participant.js');
const CALLER_TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const CALLER_SPAN_ID = '00f067aa0ba902b7';
const FAST = { maxAttempts: 2, attemptTimeoutMs: 5000, initialBackoffMs: 10, maxBackoffMs: 20, backoffMultiplier: 2 };

const cleanups = cleanupsAfterEach();

async function setUp(name: string) {
  const dir = testDir(name);
  cleanups.push(() => dir.remove());
  // The participant's "flaky" action errors while this file exists.
  const flakyFile = dir.file('flaky');
  writeFileSync(flakyFile, 'down');
  const receiver = await OtlpReceiver.start();
  cleanups.push(() => receiver.close());
  const otel = { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint, OTEL_BSP_SCHEDULE_DELAY: '50' };
  const participant = await ManagedProcess.start({
    name: 'traced-participant',
    command: process.execPath,
    args: [TRACED_PARTICIPANT],
    env: { ...otel, FLAKY_FILE: flakyFile },
  });
  cleanups.push(() => participant.stop());
  const launch = { db: dir.file('coordinator.db'), participants: { shop: participant.address }, env: { ...otel, OTEL_SERVICE_NAME: 'saga-coordinator-under-test' } };
  const coordinator = { current: await startCoordinator(launch) };
  cleanups.push(() => coordinator.current.stop());
  const client = (): SagaClient => {
    // The caller's own span: its traceparent goes with StartSaga.
    const c = new SagaClient({ address: coordinator.current.address, callMetadata: { traceparent: `00-${CALLER_TRACE_ID}-${CALLER_SPAN_ID}-01` } });
    cleanups.push(() => c.close());
    return c;
  };
  const restart = async (): Promise<void> => {
    await coordinator.current.stop();
    coordinator.current = await startCoordinator({ ...launch, port: coordinator.current.port });
  };
  return { receiver, client, restart, flakyFile };
}

const of = (spans: readonly ReceivedSpan[], service: string): ReceivedSpan[] => spans.filter((s) => s.service === service);

describe('OpenTelemetry traces', () => {
  it('a compensated saga: saga span under the caller, a child span per call, the participant continuing each', async () => {
    const { receiver, client } = await setUp('tracing compensated');
    const sagaId = idFor('tracing compensated');
    const result = await client()
      .saga('traced-order')
      .step('reserve', { participant: 'shop', action: 'reserve', compensateAction: 'release', retry: FAST, compensationRetry: FAST })
      .step('charge', { participant: 'shop', action: 'charge', retry: FAST, compensationRetry: FAST })
      .start({ sagaId, waitMs: 20_000 });
    expect(result.outcome).toBe('COMPENSATED');

    // Execute reserve, Execute charge (FAILED), Compensate charge, Compensate reserve: 4 calls, each seen on both sides.
    const spans = await waitFor(() => {
      const coordinator = of(receiver.spans, 'saga-coordinator-under-test');
      const participant = of(receiver.spans, 'traced-participant');
      return coordinator.length >= 5 && participant.length >= 4 && { coordinator, participant };
    }, 'the spans of the saga, its 4 calls and their 4 participant spans', 30_000);

    const sagaSpans = spans.coordinator.filter((s) => s.name === 'saga traced-order');
    expect(sagaSpans).toHaveLength(1);
    const saga = sagaSpans[0]!;
    expect(saga).toMatchObject({ traceId: CALLER_TRACE_ID, parentSpanId: CALLER_SPAN_ID, statusCode: 2 });
    expect(saga.attributes).toMatchObject({ 'saga.id': sagaId, 'saga.name': 'traced-order', 'saga.outcome': 'COMPENSATED', 'saga.failed_step': 'charge' });

    const calls = spans.coordinator.filter((s) => s !== saga);
    expect(calls.map((c) => c.name).sort()).toEqual(['Compensate charge', 'Compensate reserve', 'Execute charge', 'Execute reserve']);
    for (const c of calls) {
      expect(c).toMatchObject({ traceId: CALLER_TRACE_ID, parentSpanId: saga.spanId, kind: 3 });
      expect(c.attributes).toMatchObject({ 'saga.id': sagaId, 'saga.participant': 'shop', 'saga.attempt': 1 });
    }
    const call = (name: string): ReceivedSpan => calls.find((c) => c.name === name)!;
    expect(call('Execute reserve').attributes).toMatchObject({ 'saga.action': 'reserve', 'saga.operation': 'execute', 'saga.call.outcome': 'succeeded' });
    expect(call('Execute charge').attributes).toMatchObject({ 'saga.action': 'charge', 'saga.call.outcome': 'failed', 'saga.call.error_code': 'CARD_DECLINED' });
    expect(call('Execute charge').statusCode).toBe(2);
    expect(call('Compensate reserve').attributes).toMatchObject({ 'saga.action': 'release', 'saga.operation': 'compensate', 'saga.call.outcome': 'succeeded' });
    expect(call('Compensate charge').attributes).toMatchObject({ 'saga.action': 'charge', 'saga.call.outcome': 'succeeded' });

    // The participant's server span of each call is a child of that call's span.
    for (const p of spans.participant) {
      expect(p.kind).toBe(2);
      expect(p.traceId).toBe(CALLER_TRACE_ID);
      const parent = calls.find((c) => c.spanId === p.parentSpanId);
      expect(parent?.name, `parent of participant span ${p.name}`).toBe(p.name);
      expect(p.attributes).toMatchObject({ 'saga.id': sagaId, 'saga.step': parent!.attributes['saga.step'] });
    }
    expect(spans.participant.find((p) => p.name === 'Execute charge')).toMatchObject({ statusCode: 2, attributes: { 'saga.call.error_code': 'CARD_DECLINED' } });
  });

  it('a saga resumed after a restart keeps its trace id; its later spans hang under the stored saga span', async () => {
    const { receiver, client, restart, flakyFile } = await setUp('tracing resumed');
    const sagaId = idFor('tracing resumed');
    const retry = { maxAttempts: 1000, attemptTimeoutMs: 5000, initialBackoffMs: 50, maxBackoffMs: 200, backoffMultiplier: 2 };
    await client().saga('traced-resume').step('flaky', { participant: 'shop', action: 'flaky', retry }).start({ sagaId });
    const coordinatorSpans = (): ReceivedSpan[] => of(receiver.spans, 'saga-coordinator-under-test').filter((s) => s.attributes['saga.id'] === sagaId);
    await waitFor(() => coordinatorSpans().some((s) => s.name === 'Execute flaky' && s.attributes['saga.call.outcome'] === 'error'), 'a failed call exported', 30_000);

    // SIGTERM: the saga span of the saga still in motion ends, marked suspended, and is flushed.
    await restart();
    const original = await waitFor(() => coordinatorSpans().find((s) => s.name === 'saga traced-resume' && s.attributes['saga.suspended'] === true), 'the suspended saga span', 30_000);
    expect(original).toMatchObject({ traceId: CALLER_TRACE_ID, parentSpanId: CALLER_SPAN_ID });
    const before = new Set(coordinatorSpans().map((s) => s.spanId));

    rmSync(flakyFile);
    expect((await client().waitForOutcome(sagaId, { timeoutMs: 30_000 })).outcome).toBe('COMPLETED');
    const resumed = await waitFor(() => coordinatorSpans().find((s) => s.name === 'saga traced-resume' && s.attributes['saga.resumed'] === true), 'the resumed saga span', 30_000);
    expect(resumed).toMatchObject({ traceId: CALLER_TRACE_ID, parentSpanId: original.spanId });
    expect(resumed.attributes).toMatchObject({ 'saga.outcome': 'COMPLETED', 'saga.id': sagaId });
    const later = coordinatorSpans().filter((s) => !before.has(s.spanId) && s.name === 'Execute flaky');
    expect(later.some((s) => s.attributes['saga.call.outcome'] === 'succeeded')).toBe(true);
    for (const s of later) expect(s).toMatchObject({ traceId: CALLER_TRACE_ID, parentSpanId: original.spanId });
    // The participant's span of the successful call is in the same trace, under that call.
    const success = later.find((s) => s.attributes['saga.call.outcome'] === 'succeeded')!;
    await waitFor(() => of(receiver.spans, 'traced-participant').some((p) => p.parentSpanId === success.spanId && p.traceId === CALLER_TRACE_ID), 'the participant span of the successful call', 30_000);
  });
});
