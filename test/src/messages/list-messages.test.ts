// ListMessages on both store backends, with a real coordinator process: every
// filter (states, subject, key, producer, creation time) against what was
// prepared, committed and rolled back; pages that follow next_page_token and
// refuse other tokens; INVALID_ARGUMENT naming the field; and who may list
// (operators all, a producer credential only its own producer's messages).

import { credentials, status, type ServiceError } from '@grpc/grpc-js';
import { BinaryWriter } from '@bufbuild/protobuf/wire';
import { CoordinatorClient, ListMessagesResponse, ListSagasResponse, MessageState } from '@saga/proto';
import { SagaClientError, TxMessageClient, type TxMessageListFilter, type TxMessageSummary } from '@saga/sdk';
import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCoordinator } from '../support/launchers.js';
import type { ManagedProcess } from '../support/managed-process.js';
import { bearer, callRpc } from '../support/rpc-outcome.js';
import { STORE_BACKENDS, useStoreBackends } from '../support/store-backends.js';
import { idFor, testDir } from '../support/test-dir.js';

const stores = useStoreBackends();
const TOKENS = { client: 'list-client-token', operator: 'list-operator-token', stock: 'list-producer-stock', other: 'list-producer-other' };
// No check-back comes due while the suite runs (the producers are registered, not running).
const LATER = { checkAfterMs: 3_600_000 };

describe.each(STORE_BACKENDS)('ListMessages (%s store)', (backend) => {
  const dir = testDir(`list messages ${backend}`);
  let coordinator: ManagedProcess;
  let raw: CoordinatorClient;
  const clients: TxMessageClient[] = [];
  const asRole = (token: string): TxMessageClient => {
    const c = new TxMessageClient({ address: coordinator.address, callMetadata: { authorization: `Bearer ${token}` } });
    clients.push(c);
    return c;
  };
  let operator: TxMessageClient;
  const ids = {
    committed: idFor(`list ${backend}`, 'committed'),
    prepared: idFor(`list ${backend}`, 'prepared'),
    rolledBack: idFor(`list ${backend}`, 'rolled-back'),
    otherProducer: idFor(`list ${backend}`, 'other'),
    paged: [0, 1, 2, 3, 4].map((i) => idFor(`list ${backend}`, `paged-${i}`)),
  };
  const all = (): string[] => [ids.committed, ids.prepared, ids.rolledBack, ids.otherProducer, ...ids.paged];

  /** Every page of a listing, following next_page_token. */
  async function listAll(filter: TxMessageListFilter, client = operator): Promise<TxMessageSummary[]> {
    const out: TxMessageSummary[] = [];
    let pageToken = '';
    do {
      const page = await client.list({ ...filter, pageToken });
      out.push(...page.messages);
      pageToken = page.nextPageToken;
    } while (pageToken !== '');
    return out;
  }
  const idsOf = async (filter: TxMessageListFilter, client = operator): Promise<string[]> => (await listAll(filter, client)).map((m) => m.messageId).sort();

  beforeAll(async () => {
    const config = dir.file('config.json');
    writeFileSync(
      config,
      JSON.stringify({
        messages: { subjects: ['orders.>'] },
        auth: { tokens: { client: [TOKENS.client], operator: [TOKENS.operator], producer: { stock: [TOKENS.stock], other: [TOKENS.other] } } },
      }),
    );
    coordinator = await startCoordinator({
      db: (await stores.location(backend, `list messages ${backend}`)) ?? dir.file('c.db'),
      participants: { stock: '127.0.0.1:9', other: '127.0.0.1:9' },
      env: { SAGA_CONFIG: config },
    });
    raw = new CoordinatorClient(coordinator.address, credentials.createInsecure());
    operator = asRole(TOKENS.operator);
    const stock = asRole(TOKENS.stock);
    await stock.prepare({ messageId: ids.committed, subject: 'orders.created', key: 'order-1', checkPolicy: LATER }, 'stock');
    await stock.commit(ids.committed);
    await stock.prepare({ messageId: ids.prepared, subject: 'orders.created', key: 'order-2', checkPolicy: LATER }, 'stock');
    await stock.prepare({ messageId: ids.rolledBack, subject: 'orders.cancelled', key: 'order-1', checkPolicy: LATER }, 'stock');
    await stock.rollback(ids.rolledBack, 'customer cancelled');
    await asRole(TOKENS.other).prepare({ messageId: ids.otherProducer, subject: 'orders.created', key: 'order-1', checkPolicy: LATER }, 'other');
    for (const id of ids.paged) await stock.prepare({ messageId: id, subject: 'orders.paged', key: id, checkPolicy: LATER }, 'stock');
  });

  afterAll(async () => {
    for (const c of clients) c.close();
    raw?.close();
    await coordinator?.stop();
    dir.remove();
  });

  it('lists every message newest first, without payloads, with state, check-backs and decision', async () => {
    const listed = await listAll({});
    expect(listed.map((m) => m.messageId).sort()).toEqual(all().sort());
    const created = listed.map((m) => m.createdAt.getTime());
    expect(created).toEqual([...created].sort((a, b) => b - a));
    const byId = new Map(listed.map((m) => [m.messageId, m]));
    expect(byId.get(ids.committed)).toMatchObject({ subject: 'orders.created', key: 'order-1', producer: 'stock', state: 'COMMITTED', checks: 0, maxChecks: 15 });
    expect(byId.get(ids.committed)!.decidedAt).toBeInstanceOf(Date);
    expect(byId.get(ids.committed)!.nextCheckAt).toBeUndefined();
    expect(byId.get(ids.prepared)).toMatchObject({ state: 'PREPARED', decidedAt: undefined });
    expect(byId.get(ids.prepared)!.nextCheckAt!.getTime()).toBeGreaterThan(byId.get(ids.prepared)!.createdAt.getTime());
    expect(byId.get(ids.rolledBack)).toMatchObject({ state: 'ROLLED_BACK', reason: 'customer cancelled' });
    expect(byId.get(ids.otherProducer)).toMatchObject({ producer: 'other', state: 'PREPARED' });
  });

  it('filters by states, subject, key and producer, alone and together', async () => {
    expect(await idsOf({ states: ['PREPARED'] })).toEqual([ids.prepared, ids.otherProducer, ...ids.paged].sort());
    expect(await idsOf({ states: ['COMMITTED', 'ROLLED_BACK'] })).toEqual([ids.committed, ids.rolledBack].sort());
    expect(await idsOf({ states: ['DISCARDED'] })).toEqual([]);
    expect(await idsOf({ subject: 'orders.cancelled' })).toEqual([ids.rolledBack]);
    expect(await idsOf({ subject: 'orders.created' })).toEqual([ids.committed, ids.prepared, ids.otherProducer].sort());
    expect(await idsOf({ key: 'order-1' })).toEqual([ids.committed, ids.rolledBack, ids.otherProducer].sort());
    expect(await idsOf({ key: 'order-1', producer: 'stock' })).toEqual([ids.committed, ids.rolledBack].sort());
    expect(await idsOf({ producer: 'other' })).toEqual([ids.otherProducer]);
    expect(await idsOf({ subject: 'orders.created', key: 'order-1', states: ['PREPARED'] })).toEqual([ids.otherProducer]);
    expect(await idsOf({ subject: 'orders.nothing' })).toEqual([]);
  });

  it('filters by creation time: created_after inclusive, created_before exclusive', async () => {
    const listed = await listAll({});
    const pivot = listed.find((m) => m.messageId === ids.otherProducer)!.createdAt;
    const expectAfter = listed.filter((m) => m.createdAt >= pivot).map((m) => m.messageId).sort();
    const expectBefore = listed.filter((m) => m.createdAt < pivot).map((m) => m.messageId).sort();
    expect(await idsOf({ createdAfter: pivot })).toEqual(expectAfter);
    expect(await idsOf({ createdBefore: pivot })).toEqual(expectBefore);
    expect(expectAfter).toContain(ids.otherProducer);
    expect(expectBefore).toContain(ids.committed);
    expect(await idsOf({ createdAfter: new Date(Date.now() + 60_000) })).toEqual([]);
    expect(await idsOf({ createdAfter: new Date(pivot.getTime() - 3_600_000), createdBefore: new Date(Date.now() + 60_000) })).toEqual(all().sort());
  });

  it('pages with the tokens it hands out and refuses forged, edited and ListSagas tokens', async () => {
    const seen: string[] = [];
    const sizes: number[] = [];
    let pageToken = '';
    do {
      const page = await operator.list({ subject: 'orders.paged', pageSize: 2, pageToken });
      sizes.push(page.messages.length);
      seen.push(...page.messages.map((m) => m.messageId));
      pageToken = page.nextPageToken;
    } while (pageToken !== '');
    expect(sizes).toEqual([2, 2, 1]);
    expect(seen.sort()).toEqual([...ids.paged].sort());

    const first = await operator.list({ subject: 'orders.paged', pageSize: 2 });
    const token = first.nextPageToken;
    const edited = token.slice(0, -1) + (token.endsWith('A') ? 'B' : 'A');
    // A ListSagas token (two sagas, one per page) is not a ListMessages token.
    for (const n of [1, 2]) {
      const saga = { sagaId: idFor(`list ${backend}`, `saga-${n}`), name: 'token-source', steps: [{ name: 'a', participant: 'stock', action: 'x', noCompensation: true, retry: { maxAttempts: 1 } }] };
      const started = await callRpc(raw, 'startSaga', saga, { metadata: bearer(TOKENS.client) });
      expect(status[started.code], started.details).toBe('OK');
    }
    const sagas = await callRpc(raw, 'listSagas', { name: 'token-source', pageSize: 1 }, { metadata: bearer(TOKENS.operator) });
    const sagaPageToken = (sagas.response as ListSagasResponse).nextPageToken;
    expect(sagaPageToken).not.toBe('');
    const forgedTokens = ['zzz', '1', edited, token.slice(0, -2), `${token}AA`, sagaPageToken];
    for (const forged of forgedTokens) {
      const outcome = await callRpc(raw, 'listMessages', { pageToken: forged }, { metadata: bearer(TOKENS.operator) });
      expect(status[outcome.code], `${forged}: ${outcome.details}`).toBe('INVALID_ARGUMENT');
      expect(outcome.details).toMatch(/^page_token: /);
    }
  });

  it('answers INVALID_ARGUMENT naming the field', async () => {
    const invalid = async (request: Record<string, unknown>, field: string): Promise<void> => {
      const outcome = await callRpc(raw, 'listMessages', request, { metadata: bearer(TOKENS.operator) });
      expect(status[outcome.code], outcome.details).toBe('INVALID_ARGUMENT');
      expect(outcome.details.startsWith(`${field}: `), outcome.details).toBe(true);
    };
    await invalid({ states: [MessageState.MESSAGE_STATE_UNSPECIFIED] }, 'states[0]');
    await invalid({ states: [MessageState.MESSAGE_STATE_PREPARED, 99] }, 'states[1]');
    await invalid({ pageSize: 1001 }, 'page_size');
    await invalid({ subject: 's'.repeat(257) }, 'subject');
    await invalid({ key: 'k'.repeat(513) }, 'key');
    await invalid({ producer: 'p'.repeat(129) }, 'producer');
    await invalid({ createdAfter: new Date(2_000_000), createdBefore: new Date(1_000_000) }, 'created_before');
    await invalid({ createdAfter: new Date(1_000_000), createdBefore: new Date(1_000_000) }, 'created_before');
    // The bounds themselves pass.
    const atLimits = await callRpc(raw, 'listMessages', { pageSize: 1000, subject: 's'.repeat(256), key: 'k'.repeat(512), producer: 'p'.repeat(128) }, { metadata: bearer(TOKENS.operator) });
    expect(status[atLimits.code], atLimits.details).toBe('OK');
    expect((atLimits.response as ListMessagesResponse).messages).toEqual([]);

    // nanos outside [0, 999999999] cannot be expressed by the generated client: the request's bytes.
    const body = new BinaryWriter().uint32((5 << 3) | 2).fork().uint32(8).int64(1_700_000_000).uint32(16).int32(1_000_000_000).join().finish();
    const err = await new Promise<ServiceError | undefined>((resolve) =>
      raw.makeUnaryRequest(
        '/saga.v1.Coordinator/ListMessages',
        (b: Uint8Array) => Buffer.from(b),
        (b: Buffer) => ListMessagesResponse.decode(b),
        body,
        bearer(TOKENS.operator),
        (e) => resolve(e ?? undefined),
      ),
    );
    expect(err && status[err.code]).toBe('INVALID_ARGUMENT');
    expect(err!.details).toMatch(/^created_after: /);
  });

  it('operators list every producer; a producer credential only its own; a client or no credential is refused', async () => {
    const stock = asRole(TOKENS.stock);
    expect(await idsOf({}, stock)).toEqual(all().filter((id) => id !== ids.otherProducer).sort());
    expect(await idsOf({ producer: 'stock', key: 'order-1' }, stock)).toEqual([ids.committed, ids.rolledBack].sort());
    expect(await idsOf({}, asRole(TOKENS.other))).toEqual([ids.otherProducer]);
    const naming = await stock.list({ producer: 'other' }).catch((e: unknown) => e);
    expect(naming).toBeInstanceOf(SagaClientError);
    expect((naming as SagaClientError).codeName).toBe('PERMISSION_DENIED');
    const client = await asRole(TOKENS.client).list().catch((e: unknown) => e);
    expect((client as SagaClientError).codeName).toBe('PERMISSION_DENIED');
    const none = await callRpc(raw, 'listMessages', {});
    expect(status[none.code], none.details).toBe('UNAUTHENTICATED');
  });
});
