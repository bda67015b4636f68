// The TCC contract at the coordinator's edge: StartSaga with kind TCC runs a
// TCC transaction (GetSaga, WatchSaga and ListSagas show its kind and phase); a TCC branch with a
// compensate_action or no_compensation, and an unknown kind, are refused with
// INVALID_ARGUMENT naming the field (nothing is created); kind SAGA runs as
// before.

import { status, type ServiceError } from '@grpc/grpc-js';
import { Operation, SagaState, StepStatus, TccPhase, TransactionKind } from '@saga/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCoordinator, startTsParticipant } from '../support/launchers.js';
import type { ManagedProcess } from '../support/managed-process.js';
import { TestCoordinatorClient } from '../support/coordinator-client.js';
import { FAST_RETRY } from '../support/order-scenario.js';
import { idFor, testDir } from '../support/test-dir.js';

const dir = testDir('tcc-contract');
let stock: ManagedProcess;
let coordinator: ManagedProcess;
let client: TestCoordinatorClient;

beforeAll(async () => {
  stock = await startTsParticipant('stock', { db: dir.file('stock.db'), seed: { stock: { A: 10 } } });
  coordinator = await startCoordinator({ db: dir.file('coordinator.db'), participants: { stock: stock.address } });
  client = new TestCoordinatorClient(coordinator.address);
});

afterAll(async () => {
  client?.close();
  await coordinator?.stop();
  await stock?.stop();
  dir.remove();
});

const branch = {
  name: 'stock',
  participant: 'stock',
  action: 'reserve',
  compensateAction: '',
  payload: Buffer.from('{"sku":"A","quantity":1}'),
  dependsOn: [],
  noCompensation: false,
  retry: FAST_RETRY,
  compensationRetry: FAST_RETRY,
  metadata: {},
};

async function refusal(kind: TransactionKind, sagaId: string, step = branch): Promise<ServiceError> {
  try {
    await client.start({ sagaId, name: 'checkout', steps: [step], kind });
  } catch (err) {
    return err as ServiceError;
  }
  throw new Error('expected StartSaga to be refused');
}

describe('TCC contract at the edge', () => {
  it('runs kind TCC: Try then Confirm, shown with its kind, phase and confirm status', async () => {
    const sagaId = idFor('tcc runs');
    await client.start({ sagaId, name: 'checkout', steps: [branch], kind: TransactionKind.TRANSACTION_KIND_TCC });
    const saga = await client.waitForState(sagaId, [SagaState.SAGA_STATE_COMPLETED]);
    expect(saga.kind).toBe(TransactionKind.TRANSACTION_KIND_TCC);
    expect(saga.phase).toBe(TccPhase.TCC_PHASE_CONFIRM);
    expect(saga.steps[0]!.confirmStatus).toBe(StepStatus.STEP_STATUS_SUCCEEDED);
    expect(saga.steps[0]!.attempts.map((a) => a.operation)).toEqual([Operation.OPERATION_TRY, Operation.OPERATION_CONFIRM]);
    const listed = await client.list({ name: 'checkout' });
    expect(listed.sagas.find((x) => x.sagaId === sagaId)?.kind).toBe(TransactionKind.TRANSACTION_KIND_TCC);
    // WatchSaga of a finished transaction: its record, then the stream ends.
    const watched = await client.watch(sagaId);
    expect(watched.at(-1)).toMatchObject({ kind: TransactionKind.TRANSACTION_KIND_TCC, phase: TccPhase.TCC_PHASE_CONFIRM });
  });

  it.each([
    ['compensate_action', { compensateAction: 'release' }],
    ['no_compensation', { noCompensation: true }],
  ] as const)('refuses a TCC branch with %s (INVALID_ARGUMENT naming the field) and creates nothing', async (field, change) => {
    const sagaId = idFor(`tcc refuses ${field}`);
    const err = await refusal(TransactionKind.TRANSACTION_KIND_TCC, sagaId, { ...branch, ...change });
    expect(err.code).toBe(status.INVALID_ARGUMENT);
    expect(err.details).toMatch(new RegExp(`^steps\\[0\\]\\.${field}: `));
    await expect(client.get(sagaId)).rejects.toMatchObject({ code: status.NOT_FOUND });
  });

  it('refuses an unknown kind with INVALID_ARGUMENT naming the field', async () => {
    const err = await refusal(99 as TransactionKind, idFor('tcc unknown kind'));
    expect(err.code).toBe(status.INVALID_ARGUMENT);
    expect(err.details).toMatch(/^kind: /);
  });

  it('runs kind SAGA as a saga and reports its kind', async () => {
    const sagaId = idFor('tcc saga kind');
    await client.start({ sagaId, name: 'deduct', kind: TransactionKind.TRANSACTION_KIND_SAGA, steps: [{ ...branch, action: 'deduct', compensateAction: 'restore' }] });
    const saga = await client.waitForState(sagaId, [SagaState.SAGA_STATE_COMPLETED]);
    expect(saga.kind).toBe(TransactionKind.TRANSACTION_KIND_SAGA);
    expect(saga.phase).toBe(TccPhase.TCC_PHASE_UNSPECIFIED);
    expect(saga.steps[0]!.confirmStatus).toBe(StepStatus.STEP_STATUS_UNSPECIFIED);
    const listed = await client.list({ name: 'deduct' });
    expect(listed.sagas.find((x) => x.sagaId === sagaId)?.kind).toBe(TransactionKind.TRANSACTION_KIND_SAGA);
  });
});
