// Raw addresses in a definition: with "*:*" allowlisted, only host:port is
// dialled (a hostname or IP literal and a port); schemes, unix sockets and
// paths are refused with INVALID_ARGUMENT. And an allowlisted address works.

import { credentials, status } from '@grpc/grpc-js';
import { CoordinatorClient, SagaOutcome, type StartSagaResponse } from '@saga/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCoordinator, startTsParticipant } from '../support/launchers.js';
import type { ManagedProcess } from '../support/managed-process.js';
import { callRpc } from '../support/rpc-outcome.js';
import { idFor, testDir } from '../support/test-dir.js';

const dir = testDir('raw-address-allowlist');
let coordinator: ManagedProcess;
let participant: ManagedProcess;
let client: CoordinatorClient;

beforeAll(async () => {
  participant = await startTsParticipant('notification', { db: dir.file('notification.db') });
  coordinator = await startCoordinator({ db: dir.file('c.db'), participants: {}, env: { SAGA_RAW_ADDRESS_ALLOWLIST: '*:*' } });
  client = new CoordinatorClient(coordinator.address, credentials.createInsecure());
});

afterAll(async () => {
  client.close();
  await coordinator.stop();
  await participant.stop();
  dir.remove();
});

const start = (participantField: string, sagaId = ''): ReturnType<typeof callRpc> =>
  callRpc(client, 'startSaga', {
    sagaId,
    name: 'raw',
    steps: [{ name: 'notify', participant: participantField, action: 'send', noCompensation: true, payload: Buffer.from('{"userId":"u1","message":"hi"}') }],
    waitMs: 20_000,
  }, { deadlineMs: 30_000 });

describe('raw-address allowlist', () => {
  it('drives a saga whose step names an allowlisted host:port', async () => {
    const outcome = await start(participant.address, idFor('raw address allowed'));
    expect(status[outcome.code], outcome.details).toBe('OK');
    expect((outcome.response as StartSagaResponse).outcome).toBe(SagaOutcome.SAGA_OUTCOME_COMPLETED);
  });

  const refused = [
    'unix:/tmp/saga.sock',
    'unix:///tmp/saga.sock',
    'unix-abstract:saga',
    `127.0.0.1:54099/x`,
    'dns:///127.0.0.1:54099',
    'ipv4:127.0.0.1:54099',
    'http://127.0.0.1:54099',
    'user@127.0.0.1:54099',
    '127.0.0.1:0',
    '127.0.0.1:99999',
    '999.1.1.1:80',
    '[::1]',
    '127.0.0.1',
  ];
  for (const address of refused) {
    it(`refuses ${JSON.stringify(address)} with INVALID_ARGUMENT naming the participant field`, async () => {
      const outcome = await start(address);
      expect(status[outcome.code], outcome.details).toBe('INVALID_ARGUMENT');
      expect(outcome.details.startsWith('steps[0].participant')).toBe(true);
    });
  }
});
