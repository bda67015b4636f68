// Fields that were unbounded or unchecked: each answers INVALID_ARGUMENT naming
// the field. Page tokens are opaque: only what ListSagas handed out is accepted.

import { credentials, status, type ServiceError } from '@grpc/grpc-js';
import { BinaryWriter } from '@bufbuild/protobuf/wire';
import { CoordinatorClient, ListSagasResponse, PrepareMessageResponse } from '@saga/proto';
import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCoordinator } from '../support/launchers.js';
import type { ManagedProcess } from '../support/managed-process.js';
import { callRpc, type RpcName } from '../support/rpc-outcome.js';
import { idFor, testDir } from '../support/test-dir.js';

const dir = testDir('limits-fields');
let coordinator: ManagedProcess;
let client: CoordinatorClient;

const step = (over: Record<string, unknown> = {}): Record<string, unknown> => ({ name: 'reserve', participant: 'stock', action: 'deduct', ...over });
const saga = (over: Record<string, unknown> = {}): Record<string, unknown> => ({ name: 'limits', steps: [step()], ...over });

beforeAll(async () => {
  const config = dir.file('config.json');
  writeFileSync(config, JSON.stringify({ messages: { subjects: ['orders.>'] } }));
  coordinator = await startCoordinator({ db: dir.file('c.db'), participants: { stock: '127.0.0.1:9' }, env: { SAGA_CONFIG: config } });
  client = new CoordinatorClient(coordinator.address, credentials.createInsecure());
});

afterAll(async () => {
  client.close();
  await coordinator.stop();
  dir.remove();
});

async function expectInvalid(rpc: RpcName, request: Record<string, unknown>, field: string): Promise<void> {
  const outcome = await callRpc(client, rpc, request);
  expect(status[outcome.code], outcome.details).toBe('INVALID_ARGUMENT');
  expect(outcome.details.startsWith(field), outcome.details).toBe(true);
}

describe('bounded fields', () => {
  const cases: [string, RpcName, Record<string, unknown>, string][] = [
    ['AbortSaga.reason over 1024 characters', 'abortSaga', { sagaId: 'x', reason: 'r'.repeat(1025) }, 'reason'],
    ['ResolveSaga.note over 1024 characters', 'resolveSaga', { sagaId: 'x', note: 'n'.repeat(1025) }, 'note'],
    ['RollbackMessage.reason over 1024 characters', 'rollbackMessage', { messageId: 'x', reason: 'r'.repeat(1025) }, 'reason'],
    ['max_attempts over 1000', 'startSaga', saga({ steps: [step({ retry: { maxAttempts: 1001 } })] }), 'steps[0].retry.max_attempts'],
    ['attempt_timeout_ms over 1 h', 'startSaga', saga({ options: { defaultRetry: { attemptTimeoutMs: 3_600_001 } } }), 'options.default_retry.attempt_timeout_ms'],
    ['max_backoff_ms over 1 day', 'startSaga', saga({ steps: [step({ retry: { maxBackoffMs: 86_400_001 } })] }), 'steps[0].retry.max_backoff_ms'],
    ['initial_backoff_ms over 1 day', 'startSaga', saga({ steps: [step({ compensationRetry: { initialBackoffMs: 86_400_001 } })] }), 'steps[0].compensation_retry.initial_backoff_ms'],
    ['GetSaga.saga_id that is no id', 'getSaga', { sagaId: 'has space' }, 'saga_id'],
  ];
  for (const [title, rpc, request, field] of cases) {
    it(`refuses ${title}`, async () => {
      await expectInvalid(rpc, request, field);
    });
  }

  it('accepts 1024 characters of reason and note (the limit itself)', async () => {
    // NOT_FOUND: the length passed, the saga does not exist.
    expect(status[(await callRpc(client, 'abortSaga', { sagaId: 'limits-none', reason: 'r'.repeat(1024) })).code]).toBe('NOT_FOUND');
    expect(status[(await callRpc(client, 'resolveSaga', { sagaId: 'limits-none', note: 'n'.repeat(1024) })).code]).toBe('NOT_FOUND');
  });
});

describe('page tokens', () => {
  it('pages with the tokens ListSagas hands out and refuses forged or edited ones', async () => {
    for (let i = 0; i < 3; i++) {
      const started = await callRpc(client, 'startSaga', saga({ sagaId: idFor('page tokens', String(i)), name: 'paged' }));
      expect(status[started.code], started.details).toBe('OK');
    }
    const first = await callRpc(client, 'listSagas', { name: 'paged', pageSize: 2 });
    const page1 = first.response as ListSagasResponse;
    expect(page1.sagas).toHaveLength(2);
    expect(page1.nextPageToken).not.toBe('');
    const second = await callRpc(client, 'listSagas', { name: 'paged', pageSize: 2, pageToken: page1.nextPageToken });
    expect(status[second.code], second.details).toBe('OK');
    const page2 = second.response as ListSagasResponse;
    expect(page2.sagas).toHaveLength(1);
    expect(page2.sagas[0]!.sagaId).not.toBe(page1.sagas[0]!.sagaId);
    expect(page2.sagas[0]!.sagaId).not.toBe(page1.sagas[1]!.sagaId);

    const token = page1.nextPageToken;
    const edited = token.slice(0, -1) + (token.endsWith('A') ? 'B' : 'A');
    for (const forged of ['zzz', '1e400', '0x10', '1', edited, token.slice(0, -2), `${token}AA`]) {
      await expectInvalid('listSagas', { name: 'paged', pageToken: forged }, 'page_token');
    }
  });
});

describe('timestamps', () => {
  /** A raw call: the generated client cannot even express nanos outside the range. */
  function rawCall(method: string, body: Uint8Array): Promise<ServiceError | undefined> {
    return new Promise((resolve) =>
      client.makeUnaryRequest(
        `/saga.v1.Coordinator/${method}`,
        (b: Uint8Array) => Buffer.from(b),
        (b: Buffer) => (method === 'ListSagas' ? ListSagasResponse.decode(b) : PrepareMessageResponse.decode(b)),
        body,
        (err) => resolve(err ?? undefined),
      ),
    );
  }
  const timestamp = (w: BinaryWriter, field: number, seconds: number, nanos: number): BinaryWriter =>
    w.uint32((field << 3) | 2).fork().uint32(8).int64(seconds).uint32(16).int32(nanos).join();

  for (const [field, number] of [['created_after', 3], ['created_before', 4]] as const) {
    for (const nanos of [1_000_000_000, -1]) {
      it(`ListSagas.${field} with nanos ${nanos}: INVALID_ARGUMENT naming it`, async () => {
        const err = await rawCall('ListSagas', timestamp(new BinaryWriter(), number, 1_700_000_000, nanos).finish());
        expect(err && status[err.code]).toBe('INVALID_ARGUMENT');
        expect(err!.details.startsWith(field)).toBe(true);
      });
    }
  }

  it('ListSagas.created_after within range is accepted', async () => {
    expect(await rawCall('ListSagas', timestamp(new BinaryWriter(), 3, 1_700_000_000, 999_999_999).finish())).toBeUndefined();
  });

  it('PrepareMessage.deliver_at with nanos outside [0, 999999999]: INVALID_ARGUMENT naming it', async () => {
    const w = new BinaryWriter().uint32((2 << 3) | 2).string('orders.created').uint32((6 << 3) | 2).string('stock');
    const err = await rawCall('PrepareMessage', timestamp(w, 8, Math.floor(Date.now() / 1000), 2_000_000_000).finish());
    expect(err && status[err.code]).toBe('INVALID_ARGUMENT');
    expect(err!.details.startsWith('deliver_at')).toBe(true);
  });
});
