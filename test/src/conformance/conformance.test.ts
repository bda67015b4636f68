// One set of scenarios, written once, run through the coordinator against
// every participant implementation (TypeScript, Go, Python). The hazards of
// at-least-once delivery are produced the way they happen in production:
// late requests, lost responses and timeouts, using the participants' fault
// switches (test/conformance/PARTICIPANT-PROTOCOL.md). All of it runs on each
// store backend (SQLite and PostgreSQL).
//
// The TCC scenarios run the same way against each language's TccParticipant
// (TS and Go stock "reserve", Python payment "hold").
//
// Scenarios a language cannot pass would be listed in KNOWN_GAPS with the
// reason; today every implementation passes every scenario.

import { AttemptOutcome, Operation, SagaOutcome, SagaState, StepStatus, TccPhase, TransactionKind, type RetryPolicy, type Saga, type StepDefinition } from '@saga/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCoordinator } from '../support/launchers.js';
import { STORE_BACKENDS, useStoreBackends } from '../support/store-backends.js';
import type { ManagedProcess } from '../support/managed-process.js';
import { TestCoordinatorClient } from '../support/coordinator-client.js';
import { idFor, testDir } from '../support/test-dir.js';
import { waitFor } from '../support/wait-for.js';
import { ADAPTERS, barrierOutcome, barrierRecord, type ParticipantAdapter } from './participant-adapters.js';

/** label -> scenario title -> reason. Empty: no implementation has a known gap. */
const KNOWN_GAPS: Readonly<Record<string, Readonly<Record<string, string>>>> = {};

const policy = (over: Partial<RetryPolicy> = {}): RetryPolicy => ({
  maxAttempts: 4,
  attemptTimeoutMs: 2000,
  initialBackoffMs: 10,
  maxBackoffMs: 40,
  backoffMultiplier: 2,
  ...over,
});

function stepFor(a: ParticipantAdapter, name: string, o: Partial<StepDefinition> & { payloadValue?: unknown } = {}): StepDefinition {
  const { payloadValue, ...rest } = o;
  return {
    name,
    participant: a.participant,
    action: a.action,
    compensateAction: a.compensateAction,
    payload: Buffer.from(JSON.stringify(payloadValue ?? a.payload)),
    dependsOn: [],
    noCompensation: false,
    retry: policy(),
    compensationRetry: policy(),
    metadata: {},
    ...rest,
  };
}

function attemptsOf(saga: Saga, step: string, op: Operation): Saga['steps'][number]['attempts'] {
  return saga.steps.find((s) => s.definition?.name === step)?.attempts.filter((x) => x.operation === op) ?? [];
}

const stores = useStoreBackends();

describe.each(STORE_BACKENDS)('on the %s store', (backend) => {
  const dir = testDir(`conformance ${backend}`);
  const processes = new Map<string, ManagedProcess>();
  let coordinator: ManagedProcess | undefined;
  let client: TestCoordinatorClient;

  const dbOf = (a: ParticipantAdapter): string => dir.file(`${a.participant}.db`);
  const participantOf = (a: ParticipantAdapter): ManagedProcess => {
    const p = processes.get(a.participant);
    if (p === undefined) throw new Error(`${a.label} is not running`);
    return p;
  };

  beforeAll(async () => {
    await Promise.all(ADAPTERS.map(async (a) => processes.set(a.participant, await a.start({ db: dbOf(a) }))));
    coordinator = await startCoordinator({
      db: (await stores.location(backend, `conformance ${backend}`)) ?? dir.file('coordinator.db'),
      participants: Object.fromEntries([...processes].map(([name, p]) => [name, p.address])),
    });
    client = new TestCoordinatorClient(coordinator.address);
  });

  afterAll(async () => {
    client?.close();
    await coordinator?.stop();
    await Promise.all([...processes.values()].map((p) => p.stop()));
    dir.remove();
  });

  for (const a of ADAPTERS) {
    describe(`conformance: ${a.label}`, () => {
      const db = (): string => dbOf(a);
      const scenario = (title: string, body: () => Promise<void>): void => {
        const gap = KNOWN_GAPS[a.label]?.[title];
        if (gap !== undefined) it.skip(`${title} (known gap: ${gap})`, body);
        else it(title, body);
      };

      scenario('happy path: one execute, one effect', async () => {
        const sagaId = idFor(`${a.participant} happy`);
        const before = await a.balance(db());
        const r = await client.start({ sagaId, name: 'conformance', steps: [stepFor(a, 'work')], waitMs: 20_000 });
        expect(r.outcome).toBe(SagaOutcome.SAGA_OUTCOME_COMPLETED);
        expect(await a.executeEffects(db(), sagaId)).toBe(1);
        expect(await a.balance(db())).toBe(before - a.unit);
      });

      scenario('business failure: FAILED, no effect, saga compensated', async () => {
        const sagaId = idFor(`${a.participant} business failure`);
        const before = await a.balance(db());
        const r = await client.start({ sagaId, name: 'conformance', steps: [stepFor(a, 'work', { payloadValue: a.failingPayload })], waitMs: 20_000 });
        expect(r.outcome).toBe(SagaOutcome.SAGA_OUTCOME_COMPENSATED);
        const saga = await client.get(sagaId);
        expect(attemptsOf(saga, 'work', Operation.OPERATION_EXECUTE).map((x) => x.outcome)).toEqual([AttemptOutcome.ATTEMPT_OUTCOME_FAILED]);
        expect(attemptsOf(saga, 'work', Operation.OPERATION_EXECUTE)[0]!.errorCode).not.toBe('');
        expect(await a.executeEffects(db(), sagaId)).toBe(0);
        expect(await a.compensateEffects(db(), sagaId)).toBe(0);
        expect(await a.balance(db())).toBe(before);
      });

      scenario('transient failure then success: retried, applied once', async () => {
        const sagaId = idFor(`${a.participant} transient`);
        const r = await client.start({ sagaId, name: 'conformance', steps: [stepFor(a, 'work', { metadata: { 'fault.execute': 'error@2' } })], waitMs: 20_000 });
        expect(r.outcome).toBe(SagaOutcome.SAGA_OUTCOME_COMPLETED);
        const saga = await client.get(sagaId);
        expect(attemptsOf(saga, 'work', Operation.OPERATION_EXECUTE).map((x) => x.outcome)).toEqual([
          AttemptOutcome.ATTEMPT_OUTCOME_ERROR,
          AttemptOutcome.ATTEMPT_OUTCOME_ERROR,
          AttemptOutcome.ATTEMPT_OUTCOME_SUCCEEDED,
        ]);
        expect(await a.executeEffects(db(), sagaId)).toBe(1);
      });

      scenario('duplicate Execute: a late first attempt after the retry succeeded has no second effect', async () => {
        const sagaId = idFor(`${a.participant} duplicate execute`);
        const before = await a.balance(db());
        const lateAnswered = participantOf(a).watchLog((line) => a.answered(line, sagaId, 'execute', 1));
        // Attempt 1 arrives late (after its timeout); attempt 2 applies; attempt 1 then arrives as a duplicate.
        const r = await client.start({
          sagaId,
          name: 'conformance',
          steps: [stepFor(a, 'work', { metadata: { 'fault.execute': 'sleep-before=700@1' }, retry: policy({ attemptTimeoutMs: 250 }) })],
          waitMs: 20_000,
        });
        expect(r.outcome).toBe(SagaOutcome.SAGA_OUTCOME_COMPLETED);
        // The participant's own record that it handled the late attempt 1; only then is "no second effect" meaningful.
        await waitFor(lateAnswered, 'the participant to answer the late attempt-1 Execute');
        expect(await a.executeEffects(db(), sagaId)).toBe(1);
        expect(await a.balance(db())).toBe(before - a.unit);
      });

      scenario('lost response: Execute applied, answer timed out, retried with the same key, applied once', async () => {
        const sagaId = idFor(`${a.participant} lost response`);
        const before = await a.balance(db());
        const r = await client.start({
          sagaId,
          name: 'conformance',
          steps: [stepFor(a, 'work', { metadata: { 'fault.execute': 'sleep-after=600@1' }, retry: policy({ attemptTimeoutMs: 250 }) })],
          waitMs: 20_000,
        });
        expect(r.outcome).toBe(SagaOutcome.SAGA_OUTCOME_COMPLETED);
        const saga = await client.get(sagaId);
        const tries = attemptsOf(saga, 'work', Operation.OPERATION_EXECUTE);
        // The answer was lost: the coordinator's deadline, or the participant's own (propagated) one, fired first.
        expect(['DEADLINE_EXCEEDED', 'CANCELLED']).toContain(tries[0]!.errorCode);
        expect(tries.at(-1)!.outcome).toBe(AttemptOutcome.ATTEMPT_OUTCOME_SUCCEEDED);
        expect(await a.executeEffects(db(), sagaId)).toBe(1);
        expect(await a.balance(db())).toBe(before - a.unit);
      });

      scenario('Compensate before Execute: a null compensation succeeds without touching data', async () => {
        const sagaId = idFor(`${a.participant} null compensation`);
        const before = await a.balance(db());
        const r = await client.start({
          sagaId,
          name: 'conformance',
          steps: [stepFor(a, 'work', { metadata: { 'fault.execute': 'sleep-before=900@1' }, retry: policy({ maxAttempts: 1, attemptTimeoutMs: 250 }) })],
          waitMs: 20_000,
        });
        expect(r.outcome).toBe(SagaOutcome.SAGA_OUTCOME_COMPENSATED);
        const saga = await client.get(sagaId);
        expect(attemptsOf(saga, 'work', Operation.OPERATION_COMPENSATE).map((x) => x.outcome)).toEqual([AttemptOutcome.ATTEMPT_OUTCOME_SUCCEEDED]);
        expect(saga.steps[0]!.compensateStatus).toBe(StepStatus.STEP_STATUS_SUCCEEDED);
        expect(await a.compensateEffects(db(), sagaId)).toBe(0);
        expect(await a.balance(db())).toBe(before);
      });

      scenario('Execute after Compensate (hanging): the late Execute is refused without effect', async () => {
        const sagaId = idFor(`${a.participant} hanging`);
        const before = await a.balance(db());
        const lateAnswered = participantOf(a).watchLog((line) => a.answered(line, sagaId, 'execute', 1));
        const r = await client.start({
          sagaId,
          name: 'conformance',
          steps: [stepFor(a, 'work', { metadata: { 'fault.execute': 'sleep-before=900@1' }, retry: policy({ maxAttempts: 1, attemptTimeoutMs: 250 }) })],
          waitMs: 20_000,
        });
        expect(r.outcome).toBe(SagaOutcome.SAGA_OUTCOME_COMPENSATED);
        // The Execute wakes 900 ms after it was sent, after its Compensate: wait for the participant's record of answering it.
        await waitFor(lateAnswered, 'the participant to answer the late Execute (after its Compensate)');
        expect(await a.executeEffects(db(), sagaId)).toBe(0);
        expect(await a.balance(db())).toBe(before);
      });

      scenario('Compensate twice: a retried compensation restores exactly once', async () => {
        const sagaId = idFor(`${a.participant} compensate twice`);
        const before = await a.balance(db());
        const r = await client.start({
          sagaId,
          name: 'conformance',
          steps: [
            stepFor(a, 'first', { metadata: { 'fault.compensate': 'sleep-after=600@1' }, compensationRetry: policy({ attemptTimeoutMs: 250 }) }),
            stepFor(a, 'second', { payloadValue: a.failingPayload }),
          ],
          waitMs: 20_000,
        });
        expect(r.outcome).toBe(SagaOutcome.SAGA_OUTCOME_COMPENSATED);
        const saga = await client.get(sagaId);
        const comps = attemptsOf(saga, 'first', Operation.OPERATION_COMPENSATE);
        expect(comps.length).toBeGreaterThanOrEqual(2);
        expect(['DEADLINE_EXCEEDED', 'CANCELLED']).toContain(comps[0]!.errorCode);
        expect(await a.executeEffects(db(), sagaId)).toBe(1);
        expect(await a.compensateEffects(db(), sagaId)).toBe(1);
        expect(await a.balance(db())).toBe(before);
      });

      scenario('RetrySaga after a FAILED compensation: it runs again in the new compensation epoch, restores once', async () => {
        const sagaId = idFor(`${a.participant} retry failed compensation`);
        const before = await a.balance(db());
        // Compensate attempt 1 answers FAILED ("cannot be undone"): the saga goes MANUAL.
        const r = await client.start({
          sagaId,
          name: 'conformance',
          steps: [stepFor(a, 'first', { metadata: { 'fault.compensate': 'fail@1' } }), stepFor(a, 'second', { payloadValue: a.failingPayload })],
          waitMs: 20_000,
        });
        expect(r.outcome).toBe(SagaOutcome.SAGA_OUTCOME_MANUAL);
        expect(await a.compensateEffects(db(), sagaId)).toBe(0);
        // The operator fixed the cause; attempt 2 goes out at compensation epoch 1, and the barrier runs it.
        await client.retry(sagaId);
        const saga = await client.waitForState(sagaId, [SagaState.SAGA_STATE_COMPENSATED, SagaState.SAGA_STATE_MANUAL]);
        expect(saga.state).toBe(SagaState.SAGA_STATE_COMPENSATED);
        expect(attemptsOf(saga, 'first', Operation.OPERATION_COMPENSATE).map((x) => [x.outcome, x.errorCode])).toEqual([
          [AttemptOutcome.ATTEMPT_OUTCOME_FAILED, 'INJECTED_FAILURE'],
          [AttemptOutcome.ATTEMPT_OUTCOME_SUCCEEDED, ''],
        ]);
        expect(await a.executeEffects(db(), sagaId)).toBe(1);
        expect(await a.compensateEffects(db(), sagaId)).toBe(1);
        expect(await a.balance(db())).toBe(before);
      });

      // TCC (saga.v1.TccParticipant): two branches on this participant, each freezing its resource.
      const tccBranch = (name: string, o: Partial<StepDefinition> & { payloadValue?: unknown } = {}): StepDefinition =>
        stepFor(a, name, { action: a.tcc.action, compensateAction: '', payloadValue: a.tcc.payload, ...o });
      const startTcc = (sagaId: string, steps: StepDefinition[]) =>
        client.start({ sagaId, name: 'conformance-tcc', kind: TransactionKind.TRANSACTION_KIND_TCC, steps, waitMs: 20_000 });

      scenario('TCC success: both Tries freeze, both Confirms deduct, once', async () => {
        const sagaId = idFor(`${a.participant} tcc confirm`);
        const before = await a.balance(db());
        const r = await startTcc(sagaId, [tccBranch('first'), tccBranch('second')]);
        expect(r.outcome).toBe(SagaOutcome.SAGA_OUTCOME_COMPLETED);
        const saga = await client.get(sagaId);
        expect(saga.phase).toBe(TccPhase.TCC_PHASE_CONFIRM);
        expect(await a.tcc.freezes(db(), sagaId)).toEqual({ first: a.tcc.confirmed, second: a.tcc.confirmed });
        expect(await a.balance(db())).toBe(before - 2 * a.tcc.unit);
      });

      scenario('TCC failed Try: the tried branch is cancelled (released), the failed one froze nothing', async () => {
        const sagaId = idFor(`${a.participant} tcc try fails`);
        const before = await a.balance(db());
        const r = await startTcc(sagaId, [tccBranch('first'), tccBranch('second', { payloadValue: a.tcc.failingPayload })]);
        expect(r.outcome).toBe(SagaOutcome.SAGA_OUTCOME_COMPENSATED);
        const saga = await client.get(sagaId);
        expect(attemptsOf(saga, 'second', Operation.OPERATION_TRY).map((x) => x.outcome)).toEqual([AttemptOutcome.ATTEMPT_OUTCOME_FAILED]);
        expect(attemptsOf(saga, 'first', Operation.OPERATION_CANCEL).map((x) => x.outcome)).toEqual([AttemptOutcome.ATTEMPT_OUTCOME_SUCCEEDED]);
        expect(await a.tcc.freezes(db(), sagaId)).toEqual({ first: a.tcc.released });
        expect(await a.balance(db())).toBe(before);
      });

      scenario('TCC null cancel: a Cancel whose Try never took effect succeeds without touching data', async () => {
        const sagaId = idFor(`${a.participant} tcc null cancel`);
        const before = await a.balance(db());
        // The Try answers UNAVAILABLE without effect and is not retried: its branch is still cancelled.
        const r = await startTcc(sagaId, [tccBranch('first'), tccBranch('second', { metadata: { 'fault.try': 'error' }, retry: policy({ maxAttempts: 1 }) })]);
        expect(r.outcome).toBe(SagaOutcome.SAGA_OUTCOME_COMPENSATED);
        const saga = await client.get(sagaId);
        expect(attemptsOf(saga, 'second', Operation.OPERATION_CANCEL).map((x) => x.outcome)).toEqual([AttemptOutcome.ATTEMPT_OUTCOME_SUCCEEDED]);
        expect(await barrierOutcome(db(), sagaId, 'second', 'cancel')).toBe('NULL_COMPENSATION');
        expect(await a.tcc.freezes(db(), sagaId)).toEqual({ first: a.tcc.released });
        expect(await a.balance(db())).toBe(before);
      });

      scenario('TCC hanging Try: a Try arriving after its Cancel is refused without effect', async () => {
        const sagaId = idFor(`${a.participant} tcc hanging`);
        const before = await a.balance(db());
        const lateAnswered = participantOf(a).watchLog((line) => a.answered(line, sagaId, 'try', 1));
        const r = await startTcc(sagaId, [tccBranch('only', { metadata: { 'fault.try': 'sleep-before=900@1' }, retry: policy({ maxAttempts: 1, attemptTimeoutMs: 250 }) })]);
        expect(r.outcome).toBe(SagaOutcome.SAGA_OUTCOME_COMPENSATED);
        // The Try wakes 900 ms after it was sent, after its (null) Cancel: wait for the participant's record of answering it.
        await waitFor(lateAnswered, 'the participant to answer the late Try (after its Cancel)');
        expect(await a.tcc.freezes(db(), sagaId)).toEqual({});
        expect(await barrierOutcome(db(), sagaId, 'only', 'try')).toBe('REJECTED');
        expect(await a.balance(db())).toBe(before);
      });

      scenario('TCC duplicate Confirm: a retried Confirm is answered from storage, deducted once', async () => {
        const sagaId = idFor(`${a.participant} tcc duplicate confirm`);
        const before = await a.balance(db());
        const r = await startTcc(sagaId, [tccBranch('only', { metadata: { 'fault.confirm': 'sleep-after=600@1' }, compensationRetry: policy({ attemptTimeoutMs: 250 }) })]);
        expect(r.outcome).toBe(SagaOutcome.SAGA_OUTCOME_COMPLETED);
        const saga = await client.get(sagaId);
        const confirms = attemptsOf(saga, 'only', Operation.OPERATION_CONFIRM);
        expect(confirms.length).toBeGreaterThanOrEqual(2);
        expect(['DEADLINE_EXCEEDED', 'CANCELLED']).toContain(confirms[0]!.errorCode);
        expect(confirms.at(-1)!.outcome).toBe(AttemptOutcome.ATTEMPT_OUTCOME_SUCCEEDED);
        expect(await a.tcc.freezes(db(), sagaId)).toEqual({ only: a.tcc.confirmed });
        expect(await a.balance(db())).toBe(before - a.tcc.unit);
      });

      scenario('TCC RetrySaga after a FAILED Confirm: it runs again in the new compensation epoch, deducts once', async () => {
        const sagaId = idFor(`${a.participant} tcc retry failed confirm`);
        const before = await a.balance(db());
        // Confirm attempt 1 answers FAILED: the transaction goes MANUAL with the FAILED stored by the barrier.
        const r = await startTcc(sagaId, [tccBranch('only', { metadata: { 'fault.confirm': 'fail@1' } })]);
        expect(r.outcome).toBe(SagaOutcome.SAGA_OUTCOME_MANUAL);
        expect(await barrierRecord(db(), sagaId, 'only', 'confirm')).toEqual({ outcome: 'FAILED', epoch: 0 });
        expect((await a.tcc.freezes(db(), sagaId)).only).not.toBe(a.tcc.confirmed);
        // The operator fixed the cause; Confirm attempt 2 goes out at compensation epoch 1, and the barrier runs it.
        await client.retry(sagaId);
        const saga = await client.waitForState(sagaId, [SagaState.SAGA_STATE_COMPLETED, SagaState.SAGA_STATE_MANUAL]);
        expect(saga.state).toBe(SagaState.SAGA_STATE_COMPLETED);
        expect(attemptsOf(saga, 'only', Operation.OPERATION_CONFIRM).map((x) => [x.outcome, x.errorCode])).toEqual([
          [AttemptOutcome.ATTEMPT_OUTCOME_FAILED, 'INJECTED_FAILURE'],
          [AttemptOutcome.ATTEMPT_OUTCOME_SUCCEEDED, ''],
        ]);
        expect(await barrierRecord(db(), sagaId, 'only', 'confirm')).toEqual({ outcome: 'SUCCEEDED', epoch: 1 });
        expect(await a.tcc.freezes(db(), sagaId)).toEqual({ only: a.tcc.confirmed });
        expect(await a.balance(db())).toBe(before - a.tcc.unit);
      });
    });
  }
});
