// TxMessageProducer against an in-process fake coordinator and a real SQLite
// database: the commit and rollback paths, the check-back handler (served by a
// real ParticipantServer), and a late local commit after a ROLLBACK answer.

import { credentials, Server, ServerCredentials, status, type UntypedServiceImplementation } from '@grpc/grpc-js';
import {
  CoordinatorService,
  MessageState,
  ParticipantClient,
  TransactionStatus,
  type CheckTransactionResponse,
  type PrepareMessageRequest,
} from '@saga/proto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from './logger.js';
import { ParticipantServer } from './participant-server.js';
import { SagaClientError } from './saga-client-error.js';
import { SqliteBarrier } from './sqlite-barrier.js';
import { SqliteTxMessageLog } from './sqlite-tx-message-log.js';
import { TxMessageClient } from './tx-message-client.js';
import { TxMessageDecidedError } from './tx-message-decided-error.js';
import { TxMessageProducer } from './tx-message-producer.js';
import type { SqliteTx } from './sqlite-tx.js';

/** A fake coordinator keeping message states, with scripted failures. */
interface FakeCoordinator {
  prepares: PrepareMessageRequest[];
  calls: string[];
  states: Map<string, MessageState>;
  /** Errors (gRPC codes) answered by the next calls of a method, in order. */
  failures: Map<string, number[]>;
}

let fake: FakeCoordinator;
let server: Server;
let client: TxMessageClient;
let barrier: SqliteBarrier;
let log: SqliteTxMessageLog;
let producer: TxMessageProducer<SqliteTx>;
let dir: string;

function fail(method: string): { code: number; details: string } | undefined {
  const code = fake.failures.get(method)?.shift();
  return code === undefined ? undefined : { code, details: `scripted ${status[code]}` };
}

beforeEach(async () => {
  fake = { prepares: [], calls: [], states: new Map(), failures: new Map() };
  const implementation = {
    prepareMessage: (call: { request: PrepareMessageRequest }, cb: (err: unknown, res?: unknown) => void) => {
      fake.calls.push(`prepare:${call.request.messageId}`);
      const err = fail('prepare');
      if (err) return cb(err);
      fake.prepares.push(call.request);
      if (!fake.states.has(call.request.messageId)) fake.states.set(call.request.messageId, MessageState.MESSAGE_STATE_PREPARED);
      cb(null, { messageId: call.request.messageId, state: fake.states.get(call.request.messageId) });
    },
    commitMessage: (call: { request: { messageId: string } }, cb: (err: unknown, res?: unknown) => void) => {
      const id = call.request.messageId;
      fake.calls.push(`commit:${id}`);
      const err = fail('commit');
      if (err) return cb(err);
      const s = fake.states.get(id);
      if (s === MessageState.MESSAGE_STATE_ROLLED_BACK || s === MessageState.MESSAGE_STATE_DISCARDED) {
        return cb({ code: status.FAILED_PRECONDITION, details: 'rolled back' });
      }
      fake.states.set(id, MessageState.MESSAGE_STATE_COMMITTED);
      cb(null, { state: MessageState.MESSAGE_STATE_COMMITTED });
    },
    rollbackMessage: (call: { request: { messageId: string } }, cb: (err: unknown, res?: unknown) => void) => {
      const id = call.request.messageId;
      fake.calls.push(`rollback:${id}`);
      if (fake.states.get(id) === MessageState.MESSAGE_STATE_COMMITTED) return cb({ code: status.FAILED_PRECONDITION, details: 'committed' });
      fake.states.set(id, MessageState.MESSAGE_STATE_ROLLED_BACK);
      cb(null, { state: MessageState.MESSAGE_STATE_ROLLED_BACK });
    },
    getMessage: (call: { request: { messageId: string } }, cb: (err: unknown, res?: unknown) => void) => {
      const state = fake.states.get(call.request.messageId);
      if (state === undefined) return cb({ code: status.NOT_FOUND, details: 'no' });
      cb(null, { message: { messageId: call.request.messageId, state, headers: {}, payload: Buffer.alloc(0) } });
    },
  };
  server = new Server();
  server.addService(CoordinatorService, implementation as unknown as UntypedServiceImplementation);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  client = new TxMessageClient({ address: `127.0.0.1:${port}`, defaultDeadlineMs: 2000 });
  dir = mkdtempSync(join(tmpdir(), 'tx-producer-'));
  barrier = new SqliteBarrier({ path: join(dir, 'orders.db'), cleanupIntervalMs: 0 });
  await barrier.start();
  await barrier.transaction((tx) => tx.exec('CREATE TABLE orders (order_id TEXT PRIMARY KEY, message_id TEXT NOT NULL)'));
  log = new SqliteTxMessageLog({ transaction: (fn) => barrier.transaction(fn) });
  await log.start();
  producer = new TxMessageProducer({ client, producer: 'orders', log, callAttempts: 3 });
});

afterEach(async () => {
  client.close();
  server.forceShutdown();
  await barrier.close();
  rmSync(dir, { recursive: true, force: true });
});

const orders = (): Promise<{ order_id: string; message_id: string }[]> =>
  barrier.transaction((tx) => tx.all<{ order_id: string; message_id: string }>('SELECT order_id, message_id FROM orders ORDER BY order_id'));

const createOrder =
  (orderId: string) =>
  async (tx: SqliteTx, messageId: string): Promise<string> => {
    await tx.run('INSERT INTO orders (order_id, message_id) VALUES (?, ?)', [orderId, messageId]);
    return orderId;
  };

function checkContext(messageId: string, key = ''): Parameters<ReturnType<TxMessageProducer<SqliteTx>['checkTransactionHandler']>>[0] {
  return {
    messageId,
    key,
    subject: 'orders.created',
    headers: {},
    check: 1,
    deadline: new Date(Date.now() + 1000),
    signal: new AbortController().signal,
    logger: silentLogger(),
  };
}

describe('TxMessageProducer', () => {
  it('prepares, commits the local transaction with the message id recorded, then commits the message', async () => {
    const sent = await producer.send(
      { subject: 'orders.created', key: 'order-1', payload: { orderId: 'order-1' }, checkPolicy: { checkAfterMs: 1000 } },
      createOrder('order-1'),
    );
    expect(sent.state).toBe('COMMITTED');
    expect(sent.result).toBe('order-1');
    expect(fake.calls).toEqual([`prepare:${sent.messageId}`, `commit:${sent.messageId}`]);
    expect(fake.prepares[0]).toMatchObject({ subject: 'orders.created', key: 'order-1', producer: 'orders' });
    expect(fake.prepares[0]?.checkPolicy).toEqual({ checkAfterMs: 1000, checkIntervalMs: 0, maxChecks: 0, checkTimeoutMs: 0 });
    expect(Buffer.from(fake.prepares[0]!.payload).toString()).toBe('{"orderId":"order-1"}');
    expect(await orders()).toEqual([{ order_id: 'order-1', message_id: sent.messageId }]);
    expect(await log.status(sent.messageId)).toBe('COMMITTED');
    expect(await producer.checkTransactionHandler()(checkContext(sent.messageId))).toBe('COMMIT');
  });

  it('rolls the message back when the local transaction fails, and rethrows', async () => {
    const boom = new Error('out of stock');
    await expect(
      producer.send({ subject: 'orders.created', messageId: 'm-fail' }, async (tx) => {
        await tx.run("INSERT INTO orders (order_id, message_id) VALUES ('order-2', 'm-fail')");
        throw boom;
      }),
    ).rejects.toBe(boom);
    expect(fake.calls).toEqual(['prepare:m-fail', 'rollback:m-fail']);
    expect(await orders()).toEqual([]);
    expect(await log.status('m-fail')).toBeUndefined();
  });

  it('does not run the local transaction when PrepareMessage is refused; retries it when transient', async () => {
    fake.failures.set('prepare', [status.INVALID_ARGUMENT]);
    const refused = await producer.send({ subject: 'orders.created' }, createOrder('order-3')).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(SagaClientError);
    expect((refused as SagaClientError).codeName).toBe('INVALID_ARGUMENT');
    expect(await orders()).toEqual([]);
    fake.failures.set('prepare', [status.UNAVAILABLE, status.UNAVAILABLE]);
    const sent = await producer.send({ subject: 'orders.created', messageId: 'm-retry' }, createOrder('order-4'));
    expect(sent.state).toBe('COMMITTED');
    expect(fake.calls.filter((c) => c === 'prepare:m-retry')).toHaveLength(3);
  });

  it('answers PREPARED when CommitMessage cannot be made; the check-back then answers COMMIT from the record', async () => {
    fake.failures.set('commit', [status.UNAVAILABLE, status.UNAVAILABLE, status.UNAVAILABLE]);
    const sent = await producer.send({ subject: 'orders.created', messageId: 'm-unreachable' }, createOrder('order-5'));
    expect(sent.state).toBe('PREPARED');
    expect(await orders()).toHaveLength(1);
    expect(await producer.checkTransactionHandler()(checkContext('m-unreachable'))).toBe('COMMIT');
  });

  it('answers ROLLBACK for a message without a record and then refuses its late local commit', async () => {
    const handler = producer.checkTransactionHandler();
    expect(await handler(checkContext('m-late', 'order-6'))).toBe('ROLLBACK');
    expect(await log.status('m-late')).toBe('ROLLED_BACK');
    // The same answer every time: the tombstone is the record.
    expect(await handler(checkContext('m-late', 'order-6'))).toBe('ROLLBACK');
    const late = await producer.send({ subject: 'orders.created', messageId: 'm-late', key: 'order-6' }, createOrder('order-6')).catch((e: unknown) => e);
    expect(late).toBeInstanceOf(TxMessageDecidedError);
    expect((late as TxMessageDecidedError).decided).toBe('ROLLED_BACK');
    expect(await orders()).toEqual([]);
    expect(fake.calls).toEqual(['prepare:m-late', 'rollback:m-late']);
  });

  it('reports the coordinator decision when it gave up on the message before the commit arrived', async () => {
    const sent = await producer.send({ subject: 'orders.created', messageId: 'm-gave-up' }, async (tx, id) => {
      // Meanwhile the coordinator discarded it (its check-backs never got an answer).
      fake.states.set(id, MessageState.MESSAGE_STATE_DISCARDED);
      await createOrder('order-11')(tx, id);
    });
    expect(sent.state).toBe('DISCARDED');
    expect(await orders()).toHaveLength(1);
  });

  it('does not run the local transaction for a message id the coordinator has already decided', async () => {
    fake.states.set('m-decided', MessageState.MESSAGE_STATE_ROLLED_BACK);
    let ran = false;
    const err = await producer
      .send({ subject: 'orders.created', messageId: 'm-decided' }, async () => {
        ran = true;
        return Promise.resolve();
      })
      .catch((e: unknown) => e);
    expect((err as TxMessageDecidedError).decided).toBe('ROLLED_BACK');
    expect(ran).toBe(false);
    expect(await log.status('m-decided')).toBeUndefined();
  });

  it('answers UNKNOWN while its own local transaction is running', async () => {
    const handler = producer.checkTransactionHandler();
    let answered: string | undefined;
    await producer.send({ subject: 'orders.created', messageId: 'm-busy' }, async (tx, id) => {
      // A check-back arriving now must not tombstone a transaction that is about to commit.
      answered = await handler(checkContext(id));
      await createOrder('order-7')(tx, id);
    });
    expect(answered).toBe('UNKNOWN');
    expect(await handler(checkContext('m-busy'))).toBe('COMMIT');
  });

  it('refuses a second local transaction with a message id that already committed, and commits its message', async () => {
    // The first send's process "died" after its local commit: CommitMessage never arrived.
    fake.failures.set('commit', [status.UNAVAILABLE, status.UNAVAILABLE, status.UNAVAILABLE]);
    expect((await producer.send({ subject: 'orders.created', messageId: 'm-dup' }, createOrder('order-8'))).state).toBe('PREPARED');
    // The retry's business change would collide with the first (same order): the record stops it first.
    const again = await producer.send({ subject: 'orders.created', messageId: 'm-dup' }, createOrder('order-8')).catch((e: unknown) => e);
    expect((again as TxMessageDecidedError).decided).toBe('COMMITTED');
    expect((await orders()).map((o) => o.order_id)).toEqual(['order-8']);
    expect(fake.calls.filter((c) => c.startsWith('rollback'))).toEqual([]);
    expect(fake.states.get('m-dup')).toBe(MessageState.MESSAGE_STATE_COMMITTED);
  });

  it('serves the check-back handler through a ParticipantServer', async () => {
    const participant = new ParticipantServer({ port: 0 });
    participant.onCheckTransaction(producer.checkTransactionHandler());
    const { port } = await participant.start();
    const caller = new ParticipantClient(`127.0.0.1:${port}`, credentials.createInsecure());
    const check = (messageId: string): Promise<CheckTransactionResponse> =>
      new Promise((resolve, reject) =>
        caller.checkTransaction({ messageId, key: 'k', subject: 'orders.created', headers: {}, check: 1 }, (err, res) => (err ? reject(err) : resolve(res))),
      );
    try {
      const sent = await producer.send({ subject: 'orders.created' }, createOrder('order-10'));
      expect((await check(sent.messageId)).status).toBe(TransactionStatus.TRANSACTION_STATUS_COMMIT);
      expect((await check('never-sent')).status).toBe(TransactionStatus.TRANSACTION_STATUS_ROLLBACK);
    } finally {
      caller.close();
      await participant.close();
    }
  });
});
