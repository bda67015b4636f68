// SIGTERM with calls in flight, against a real coordinator process and a
// participant that records what arrives: health turns NOT_SERVING first, no new
// step is dispatched during the drain, a call abandoned at the drain bound is
// not recorded as an attempt (the restart re-sends it with the same attempt and
// key), and a result after the bound neither crashes the process nor is lost.

import { credentials, status } from '@grpc/grpc-js';
import { AttemptOutcome, SagaState, type RetryPolicy, type StepDefinition } from '@saga/proto';
import { describe, expect, it, vi } from 'vitest';
import { TestCoordinatorClient } from '../support/coordinator-client.js';
import { HealthClient } from '../support/health-client.js';
import { startCoordinator } from '../support/launchers.js';
import type { ManagedProcess } from '../support/managed-process.js';
import { RecordingParticipant } from '../support/recording-participant.js';
import { idFor, testDir } from '../support/test-dir.js';
import { cleanupsAfterEach } from '../support/cleanups.js';

const cleanups = cleanupsAfterEach();

const RETRY: RetryPolicy = { maxAttempts: 3, attemptTimeoutMs: 60_000, initialBackoffMs: 10, maxBackoffMs: 50, backoffMultiplier: 2 };

function step(name: string, action: string, retry: RetryPolicy = RETRY): StepDefinition {
  return {
    name,
    participant: 'rec',
    action,
    compensateAction: 'undo',
    payload: Buffer.alloc(0),
    dependsOn: [],
    noCompensation: false,
    retry,
    compensationRetry: RETRY,
    metadata: {},
  };
}

interface Rig {
  readonly participant: RecordingParticipant;
  coordinator: ManagedProcess;
  client: TestCoordinatorClient;
  /** SIGTERM; resolves with the exit. */
  stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  restart(): Promise<void>;
}

async function rig(name: string, drainTimeoutMs: number): Promise<Rig> {
  const dir = testDir(name);
  const participant = await RecordingParticipant.start();
  const env = { SAGA_DRAIN_TIMEOUT_MS: String(drainTimeoutMs) };
  const launch = { db: dir.file('coordinator.db'), participants: { rec: participant.address }, env };
  const r: Rig = {
    participant,
    coordinator: await startCoordinator(launch),
    client: undefined as unknown as TestCoordinatorClient,
    stop: () => r.coordinator.stop(30_000),
    async restart() {
      r.client.close();
      r.coordinator = await startCoordinator({ ...launch, port: r.coordinator.port });
      r.client = new TestCoordinatorClient(r.coordinator.address);
    },
  };
  r.client = new TestCoordinatorClient(r.coordinator.address);
  cleanups.push(
    () => dir.remove(),
    () => participant.close(),
    () => r.coordinator.stop(),
    () => r.client.close(),
  );
  return r;
}

describe('SIGTERM with calls in flight', () => {
  it('turns health NOT_SERVING, records the held step, dispatches no next step before the restart, exits 0', async () => {
    const r = await rig('sigterm two steps', 20_000);
    const sagaId = idFor('sigterm two steps');
    await r.client.start({ sagaId, name: 'two-steps', steps: [step('first', 'hold'), step('second', 'ok')] });
    await vi.waitFor(() => expect(r.participant.arrivalsOf('first')).toHaveLength(1), { timeout: 15_000 });
    const health = new HealthClient(r.coordinator.address, credentials.createInsecure());
    cleanups.push(() => health.close());
    expect(await health.check('saga.v1.Coordinator')).toBe('SERVING');

    const exited = r.stop();
    await expect.poll(() => health.check('saga.v1.Coordinator'), { timeout: 15_000 }).toBe('NOT_SERVING');
    expect(await health.check('')).toBe('NOT_SERVING');
    // No new work during the drain.
    await expect(r.client.start({ sagaId: idFor('sigterm two steps', 'late'), name: 'two-steps', steps: [step('x', 'ok')] })).rejects.toMatchObject({
      code: status.UNAVAILABLE,
    });
    r.participant.release('first');
    const exit = await exited;
    expect(exit).toEqual({ code: 0, signal: null });
    expect(r.participant.arrivalsOf('second')).toEqual([]);

    await r.restart();
    const saga = await r.client.waitForState(sagaId, [SagaState.SAGA_STATE_COMPLETED]);
    // The held step's result was recorded during the drain: no re-send of it after the restart.
    expect(r.participant.arrivalsOf('first')).toHaveLength(1);
    expect(saga.steps[0]?.attempts).toMatchObject([{ number: 1, outcome: AttemptOutcome.ATTEMPT_OUTCOME_SUCCEEDED, resent: 0 }]);
    expect(r.participant.arrivalsOf('second').map((a) => a.attempt)).toEqual([1]);
  });

  it('abandons a max_attempts=1 call held past the drain unrecorded; after the restart it is re-sent once and the saga completes', async () => {
    const r = await rig('sigterm abandoned call', 300);
    const sagaId = idFor('sigterm abandoned call');
    const once: RetryPolicy = { ...RETRY, maxAttempts: 1 };
    await r.client.start({ sagaId, name: 'one-try', steps: [step('only', 'hold', once)] });
    await vi.waitFor(() => expect(r.participant.arrivalsOf('only')).toHaveLength(1), { timeout: 15_000 });
    const exit = await r.stop();
    expect(exit).toEqual({ code: 0, signal: null });
    expect(r.coordinator.logs()).toMatch(/drain timed out/);

    await r.restart();
    await vi.waitFor(() => expect(r.participant.arrivalsOf('only')).toHaveLength(2), { timeout: 15_000 });
    r.participant.release('only');
    const saga = await r.client.waitForState(sagaId, [SagaState.SAGA_STATE_COMPLETED, SagaState.SAGA_STATE_COMPENSATED]);
    expect(saga.state).toBe(SagaState.SAGA_STATE_COMPLETED);
    const [before, after] = r.participant.arrivalsOf('only');
    expect(after?.attempt).toBe(1);
    expect(after?.idempotencyKey).toBe(before?.idempotencyKey);
    expect(saga.steps[0]?.attempts).toMatchObject([{ number: 1, outcome: AttemptOutcome.ATTEMPT_OUTCOME_SUCCEEDED, resent: 1 }]);
  });

  it('survives a result that comes back after the drain bound, and does not lose it', async () => {
    const r = await rig('sigterm late result', 300);
    const sagaId = idFor('sigterm late result');
    await r.client.start({ sagaId, name: 'late', steps: [step('slow', 'hold'), step('next', 'ok')] });
    await vi.waitFor(() => expect(r.participant.arrivalsOf('slow')).toHaveLength(1), { timeout: 15_000 });
    const exited = r.stop();
    await vi.waitFor(() => expect(r.coordinator.logs()).toMatch(/drain timed out/), { timeout: 15_000 });
    // The effect is applied now, after the bound; its answer is too late for this process.
    r.participant.release('slow');
    const key = r.participant.arrivalsOf('slow')[0]?.idempotencyKey ?? '';
    const applied = r.participant.appliedOutput(key);
    expect(await exited).toEqual({ code: 0, signal: null });

    await r.restart();
    const saga = await r.client.waitForState(sagaId, [SagaState.SAGA_STATE_COMPLETED]);
    // The re-send got the stored result: the output of the one application, not a second one.
    expect(saga.steps[0]?.output.toString()).toBe(applied);
    expect(saga.steps[0]?.attempts).toMatchObject([{ number: 1, outcome: AttemptOutcome.ATTEMPT_OUTCOME_SUCCEEDED, resent: 1 }]);
  });
});
