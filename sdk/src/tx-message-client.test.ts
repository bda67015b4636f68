// TxMessageClient.list against an in-process fake coordinator: the filter as
// sent on the wire, the page as returned, and filters refused before any call.

import { Server, ServerCredentials, status, type handleUnaryCall, type UntypedServiceImplementation } from '@grpc/grpc-js';
import { CoordinatorService, MessageState, type ListMessagesRequest, type ListMessagesResponse } from '@saga/proto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SagaClientError } from './saga-client-error.js';
import { TxMessageClient } from './tx-message-client.js';
import type { TxMessageState } from './tx-message-types.js';

let server: Server;
let client: TxMessageClient;
const requests: ListMessagesRequest[] = [];
let answer: ListMessagesResponse | { code: status; details: string };

beforeEach(async () => {
  requests.length = 0;
  server = new Server();
  const listMessages: handleUnaryCall<ListMessagesRequest, ListMessagesResponse> = (call, cb) => {
    requests.push(call.request);
    if ('code' in answer) cb(answer);
    else cb(null, answer);
  };
  const impl: UntypedServiceImplementation = { listMessages };
  server.addService(CoordinatorService, impl);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  client = new TxMessageClient({ address: `127.0.0.1:${port}` });
});

afterEach(() => {
  client.close();
  server.forceShutdown();
});

describe('TxMessageClient.list', () => {
  it('sends the filter (states as enum values, unset fields empty) and maps the page', async () => {
    const createdAt = new Date('2026-01-31T12:00:00.000Z');
    answer = {
      messages: [
        {
          messageId: 'm-1',
          subject: 'orders.created',
          key: 'order-1',
          producer: 'orders',
          state: MessageState.MESSAGE_STATE_ROLLED_BACK,
          checks: 2,
          maxChecks: 15,
          createdAt,
          decidedAt: new Date(createdAt.getTime() + 1000),
          deliverAt: undefined,
          publishedAt: undefined,
          nextCheckAt: undefined,
          reason: 'order rejected',
        },
      ],
      nextPageToken: 'next',
    };
    const since = new Date('2026-01-01T00:00:00Z');
    const page = await client.list({ states: ['PREPARED', 'DISCARDED'], key: 'order-1', createdAfter: since, pageSize: 10, pageToken: 'tok' });
    expect(requests).toEqual([
      {
        states: [MessageState.MESSAGE_STATE_PREPARED, MessageState.MESSAGE_STATE_DISCARDED],
        subject: '',
        key: 'order-1',
        producer: '',
        createdAfter: since,
        createdBefore: undefined,
        pageSize: 10,
        pageToken: 'tok',
      },
    ]);
    expect(page).toEqual({
      messages: [
        {
          messageId: 'm-1',
          subject: 'orders.created',
          key: 'order-1',
          producer: 'orders',
          state: 'ROLLED_BACK',
          checks: 2,
          maxChecks: 15,
          createdAt,
          decidedAt: new Date(createdAt.getTime() + 1000),
          deliverAt: undefined,
          publishedAt: undefined,
          nextCheckAt: undefined,
          reason: 'order rejected',
        },
      ],
      nextPageToken: 'next',
    });
    await client.list();
    expect(requests[1]).toMatchObject({ states: [], pageSize: 0, pageToken: '' });
  });

  it('refuses a bad filter with a TypeError naming the option, sending nothing', async () => {
    answer = { messages: [], nextPageToken: '' };
    const refused = async (filter: Parameters<TxMessageClient['list']>[0], option: string): Promise<void> => {
      const err = await client.list(filter).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TypeError);
      expect((err as TypeError).message).toContain(`"${option}"`);
    };
    await refused({ states: ['SENT' as TxMessageState] }, 'states[0]');
    await refused({ pageSize: 0 }, 'pageSize');
    await refused({ pageSize: 1001 }, 'pageSize');
    await refused({ createdBefore: new Date(Number.NaN) }, 'createdBefore');
    expect(requests).toEqual([]);
  });

  it("rejects with the coordinator's status as a SagaClientError", async () => {
    answer = { code: status.PERMISSION_DENIED, details: 'ListMessages needs the producer or operator role' };
    const err = await client.list().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SagaClientError);
    expect(err).toMatchObject({ method: 'ListMessages', codeName: 'PERMISSION_DENIED' });
  });
});
