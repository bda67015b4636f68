// The TCC contract at the coordinator's edge in this version: StartSaga with
// kind TCC is refused with UNIMPLEMENTED (nothing is created), an unknown
// kind with INVALID_ARGUMENT naming the field; kind SAGA runs as before.

import { status, type ServiceError } from '@grpc/grpc-js';
import { SagaState, TransactionKind } from '@saga/proto';
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

async function refusal(kind: TransactionKind, sagaId: string): Promise<ServiceError> {
  try {
    await client.start({ sagaId, name: 'checkout', steps: [branch], kind });
  } catch (err) {
    return err as ServiceError;
  }
  throw new Error('expected StartSaga to be refused');
}

describe('TCC contract at the edge', () => {
  it('refuses kind TCC with UNIMPLEMENTED and creates nothing', async () => {
    const sagaId = idFor('tcc unimplemented');
    const err = await refusal(TransactionKind.TRANSACTION_KIND_TCC, sagaId);
    expect(err.code).toBe(status.UNIMPLEMENTED);
    expect(err.details).toMatch(/^kind: TCC/);
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
  });
});
