// Several coordinator processes on one PostgreSQL database, with a participant
// in the test process recording every call's fencing epoch:
//   - fencing directly: a coordinator frozen (SIGSTOP) past its lease loses its
//     sagas to another, which resumes them under a new epoch; once thawed
//     (SIGCONT) its writes of them are refused, it drops them, and every
//     effect was applied once, never by a stale epoch after a newer began;
//   - an operator command sent to a non-owner takes effect (once), and the
//     non-owner answers reads and waits for the saga.

import { SagaState, type RetryPolicy, type StepDefinition } from '@saga/proto';
import { startPostgresCluster, type PostgresCluster } from '@saga/coordinator/testing';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { TestCoordinatorClient } from '../support/coordinator-client.js';
import { startCoordinator } from '../support/launchers.js';
import type { ManagedProcess } from '../support/managed-process.js';
import { RecordingParticipant, recordingStep } from '../support/recording-participant.js';
import { staleEffects } from '../support/stale-effects.js';
import { idFor } from '../support/test-dir.js';
import { cleanupsAfterEach } from '../support/cleanups.js';

const LEASE_MS = 2_000;
const RETRY: RetryPolicy = { maxAttempts: 5, attemptTimeoutMs: 60_000, initialBackoffMs: 10, maxBackoffMs: 50, backoffMultiplier: 2 };

let cluster: PostgresCluster | undefined;
beforeAll(async () => {
  cluster = await startPostgresCluster();
});
afterAll(async () => {
  await cluster?.stop();
});
const cleanups = cleanupsAfterEach();

const step = (name: string, action: string): StepDefinition => recordingStep(name, action, RETRY);

interface Member {
  readonly process: ManagedProcess;
  readonly client: TestCoordinatorClient;
}

async function member(db: string, participant: RecordingParticipant, env: Record<string, string> = {}): Promise<Member> {
  const proc = await startCoordinator({ db, participants: { rec: participant.address }, env: { SAGA_LEASE_MS: String(LEASE_MS), ...env } });
  const client = new TestCoordinatorClient(proc.address);
  cleanups.push(
    () => proc.stop(),
    () => client.close(),
  );
  return { process: proc, client };
}

describe('several coordinators on one PostgreSQL database', () => {
  it('fences a coordinator paused past its lease: another resumes its sagas, its late writes are refused, nothing is applied twice', async () => {
    const participant = await RecordingParticipant.start();
    cleanups.push(() => participant.close());
    const db = await cluster!.createDatabase('fencing sigstop');
    // A's channels on its event loop: thawed, it reads the answers that came while it was frozen before its
    // heartbeat's query returns. With channels on a worker thread the lease loss is seen first and A drops its
    // sagas before it writes their results, so no write is there to refuse (safe, but not what this test is about).
    const a = await member(db, participant, { SAGA_PARTICIPANT_TRANSPORT_THREAD: 'main' });
    const b = await member(db, participant);
    const ids = Array.from({ length: 5 }, (_, i) => idFor('fencing sigstop', String(i)));
    for (const sagaId of ids) await a.client.start({ sagaId, name: 'held', steps: [step('first', 'hold'), step('second', 'ok')] });
    await vi.waitFor(() => expect(participant.arrivalsOf('first')).toHaveLength(ids.length), { timeout: 15_000 });
    expect(participant.arrivalsOf('first').map((x) => x.epoch)).toEqual(ids.map(() => 1));

    a.process.pause();
    let thawed = false;
    cleanups.push(() => {
      if (!thawed) a.process.resume();
    });
    // B claims the sagas once A's lease expired and re-sends the held calls under epoch 2 (same key).
    await vi.waitFor(() => expect(participant.arrivalsOf('first').filter((x) => x.epoch === 2)).toHaveLength(ids.length), { timeout: 20_000 });
    participant.release('first');
    for (const sagaId of ids) expect((await b.client.waitForState(sagaId, [SagaState.SAGA_STATE_COMPLETED], 20_000)).state).toBe(SagaState.SAGA_STATE_COMPLETED);

    const refused = a.process.watchLog((line) => line.includes('write refused: the saga was taken over by another instance'));
    const leaseLost = a.process.watchLog((line) => line.includes('this instance lost its lease'));
    a.process.resume();
    thawed = true;
    // A's held calls were answered while it was frozen: recording them is refused by the epoch.
    await vi.waitFor(() => expect(refused()).toBe(true), { timeout: 20_000 });
    await vi.waitFor(() => expect(leaseLost()).toBe(true), { timeout: 20_000 });

    // Nothing applied twice, each step once per saga; the second step only ever ran under epoch 2.
    for (const sagaId of ids) {
      expect(participant.applications.filter((x) => x.arrival.sagaId === sagaId).map((x) => x.arrival.step)).toEqual(['first', 'second']);
      expect((await a.client.get(sagaId)).state).toBe(SagaState.SAGA_STATE_COMPLETED);
    }
    expect(participant.arrivalsOf('second').map((x) => x.epoch)).toEqual(ids.map(() => 2));
    expect(staleEffects(participant.arrivals, participant.applications)).toEqual([]);
    // A keeps serving (as a new instance): it starts and runs a saga of its own.
    const after = idFor('fencing sigstop', 'after');
    const started = await a.client.start({ sagaId: after, name: 'after', steps: [step('only', 'ok')], waitMs: 10_000 });
    expect(started.state).toBe(SagaState.SAGA_STATE_COMPLETED);
  });

  it('applies an operator command sent to a non-owner once, and answers reads and waits there', async () => {
    const participant = await RecordingParticipant.start();
    cleanups.push(() => participant.close());
    const db = await cluster!.createDatabase('command on non-owner');
    const owner = await member(db, participant);
    const other = await member(db, participant);
    const sagaId = idFor('command on non-owner');
    const steps = [step('first', 'hold'), step('second', 'ok')];
    await owner.client.start({ sagaId, name: 'aborted', steps });
    await vi.waitFor(() => expect(participant.arrivalsOf('first')).toHaveLength(1), { timeout: 15_000 });
    // Reads on the non-owner.
    expect((await other.client.get(sagaId)).state).toBe(SagaState.SAGA_STATE_RUNNING);
    expect((await other.client.list({ states: [SagaState.SAGA_STATE_RUNNING] })).sagas.map((s) => s.sagaId)).toContain(sagaId);
    // A wait on the non-owner (StartSaga of the same id with wait_ms) and a watch there, both before the outcome.
    const waited = other.client.start({ sagaId, name: 'aborted', steps, waitMs: 30_000 });
    const watched = other.client.watch(sagaId);

    expect(await other.client.abort(sagaId, 'operator on the other instance')).toBe(SagaState.SAGA_STATE_COMPENSATING);
    const ownerRefused = owner.process.watchLog((line) => line.includes('write refused: the saga was taken over by another instance'));
    participant.release('first');
    const done = await owner.client.waitForState(sagaId, [SagaState.SAGA_STATE_COMPENSATED], 20_000);
    expect(done.state).toBe(SagaState.SAGA_STATE_COMPENSATED);
    expect((await waited).state).toBe(SagaState.SAGA_STATE_COMPENSATED);
    expect((await watched).at(-1)?.state).toBe(SagaState.SAGA_STATE_COMPENSATED);
    // Once: the step applied once, compensated once, the second step never ran.
    expect(participant.applications.map((x) => `${x.arrival.operation}:${x.arrival.step}`)).toEqual(['execute:first', 'compensate:first']);
    expect(participant.arrivalsOf('second')).toEqual([]);
    expect(participant.arrivalsOf('first', 'compensate').map((x) => x.epoch)).toEqual([2]);
    expect(staleEffects(participant.arrivals, participant.applications)).toEqual([]);
    // The first owner's answer to its own call was refused by the epoch (it dropped the saga).
    await vi.waitFor(() => expect(ownerRefused()).toBe(true), { timeout: 20_000 });
    // A second abort (to the first instance) finds it no longer RUNNING.
    await expect(owner.client.abort(sagaId, 'again')).rejects.toMatchObject({ code: 9 });
  });
});
