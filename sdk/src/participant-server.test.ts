import { credentials, Metadata, status, type ServiceError } from '@grpc/grpc-js';
import {
  CheckTransactionResponse,
  ParticipantClient,
  StepOutcome,
  TransactionStatus,
  type ExecuteResponse,
  type StepCall,
} from '@saga/proto';
import { afterEach, describe, expect, it } from 'vitest';
import { ParticipantServer } from './participant-server.js';
import type { StepContext } from './step-handler.js';
import { TerminalError } from './terminal-error.js';

const servers: ParticipantServer[] = [];
const clients: ParticipantClient[] = [];

afterEach(async () => {
  for (const client of clients.splice(0)) client.close();
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

async function startServer(
  setup: (server: ParticipantServer) => void,
  options: ConstructorParameters<typeof ParticipantServer>[0] = {},
): Promise<{ server: ParticipantServer; client: ParticipantClient }> {
  const server = new ParticipantServer({ host: '127.0.0.1', port: 0, ...options });
  setup(server);
  servers.push(server);
  const { port } = await server.start();
  const client = new ParticipantClient(`127.0.0.1:${port}`, credentials.createInsecure());
  clients.push(client);
  return { server, client };
}

function stepCall(overrides: Partial<StepCall> = {}): StepCall {
  return {
    sagaId: 'saga-1',
    sagaName: 'place-order',
    stepName: 'deduct-stock',
    action: 'deduct',
    payload: Buffer.from('{"sku":"A"}'),
    attempt: 2,
    compensationEpoch: 0,
    idempotencyKey: 'saga-1/deduct-stock/execute',
    deadline: new Date(Date.now() + 5_000),
    outputs: { 'create-order': Buffer.from('{"orderId":"o-1"}') },
    metadata: { tenant: 't-1' },
    ...overrides,
  };
}

function callRpc(
  client: ParticipantClient,
  op: 'execute' | 'compensate',
  call: StepCall,
  timeoutMs = 5_000,
): Promise<ExecuteResponse> {
  return new Promise((resolve, reject) => {
    client[op]({ call }, new Metadata(), { deadline: new Date(Date.now() + timeoutMs) }, (err, res) =>
      err || res === undefined ? reject(err ?? new Error('no response')) : resolve(res),
    );
  });
}

async function rpcError(promise: Promise<unknown>): Promise<ServiceError> {
  try {
    await promise;
  } catch (err) {
    return err as ServiceError;
  }
  throw new Error('expected the call to fail');
}

describe('ParticipantServer', () => {
  it('dispatches Execute to the action handler with a full context and returns its output', async () => {
    let seen: StepContext | undefined;
    const { client } = await startServer((server) =>
      server.register('deduct', {
        execute: (ctx) => {
          seen = ctx;
          return Buffer.from('done');
        },
      }),
    );
    const call = stepCall();
    const response = await callRpc(client, 'execute', call);
    expect(response.result).toMatchObject({ outcome: StepOutcome.STEP_OUTCOME_SUCCEEDED, errorCode: '' });
    expect(Buffer.from(response.result?.output ?? []).toString()).toBe('done');
    expect(seen).toMatchObject({
      sagaId: 'saga-1',
      sagaName: 'place-order',
      step: 'deduct-stock',
      action: 'deduct',
      attempt: 2,
      idempotencyKey: 'saga-1/deduct-stock/execute',
      metadata: { tenant: 't-1' },
    });
    expect(seen?.payload.toString()).toBe('{"sku":"A"}');
    expect(seen?.outputs.get('create-order')?.toString()).toBe('{"orderId":"o-1"}');
    expect(seen?.deadline.getTime()).toBeLessThanOrEqual(call.deadline?.getTime() ?? 0);
    expect(seen?.signal.aborted).toBe(false);
  });

  it('answers FAILED with the code and message of a TerminalError', async () => {
    const { client } = await startServer((server) =>
      server.register('deduct', {
        execute: () => {
          throw new TerminalError('INSUFFICIENT_STOCK', 'only 1 left');
        },
      }),
    );
    const response = await callRpc(client, 'execute', stepCall());
    expect(response.result).toMatchObject({
      outcome: StepOutcome.STEP_OUTCOME_FAILED,
      errorCode: 'INSUFFICIENT_STOCK',
      errorMessage: 'only 1 left',
    });
  });

  it('answers a gRPC error (transient) for any other error', async () => {
    const { client } = await startServer((server) =>
      server.register('deduct', {
        execute: () => Promise.reject(new Error('database is locked')),
      }),
    );
    const err = await rpcError(callRpc(client, 'execute', stepCall()));
    expect(err.code).toBe(status.UNAVAILABLE);
    expect(err.details).toBe('database is locked');
  });

  it('dispatches Compensate by the compensate action, registered separately or together', async () => {
    const calls: string[] = [];
    const { client } = await startServer((server) => {
      server.register('deduct', { execute: () => void calls.push('deduct') });
      server.register('restore', { compensate: () => void calls.push('restore') });
      server.register('create', { execute: () => void calls.push('create'), compensate: () => void calls.push('cancel') });
    });
    await callRpc(client, 'execute', stepCall({ action: 'deduct' }));
    await callRpc(client, 'compensate', stepCall({ action: 'restore' }));
    await callRpc(client, 'execute', stepCall({ action: 'create' }));
    await callRpc(client, 'compensate', stepCall({ action: 'create' }));
    expect(calls).toEqual(['deduct', 'restore', 'create', 'cancel']);
  });

  it('answers UNIMPLEMENTED naming the action when no handler fits', async () => {
    const { client } = await startServer((server) => server.register('deduct', { execute: () => undefined }));
    const unknown = await rpcError(callRpc(client, 'execute', stepCall({ action: 'teleport' })));
    expect(unknown.code).toBe(status.UNIMPLEMENTED);
    expect(unknown.details).toContain('"teleport"');
    const noCompensate = await rpcError(callRpc(client, 'compensate', stepCall({ action: 'deduct' })));
    expect(noCompensate.code).toBe(status.UNIMPLEMENTED);
    expect(noCompensate.details).toContain('compensate');
  });

  it('aborts the handler signal when the call deadline passes', async () => {
    let markAborted: (reason: unknown) => void = () => undefined;
    const aborted = new Promise<unknown>((resolve) => (markAborted = resolve));
    const { client } = await startServer((server) =>
      server.register('slow', {
        execute: (ctx) =>
          new Promise<void>((_, reject) => {
            ctx.signal.addEventListener('abort', () => {
              markAborted(ctx.signal.reason);
              reject(new Error('aborted'));
            });
          }),
      }),
    );
    const err = await rpcError(callRpc(client, 'execute', stepCall({ action: 'slow', deadline: undefined }), 150));
    expect(err.code).toBe(status.DEADLINE_EXCEEDED);
    const reason = await aborted;
    expect(reason).toBeInstanceOf(DOMException);
    expect((reason as DOMException).name).toBe('TimeoutError');
  });

  it('uses the earlier of the message deadline and the call deadline', async () => {
    let deadline: Date | undefined;
    const { client } = await startServer((server) =>
      server.register('deduct', { execute: (ctx) => void (deadline = ctx.deadline) }),
    );
    const messageDeadline = new Date(Date.now() + 1_000);
    await callRpc(client, 'execute', stepCall({ deadline: messageDeadline }), 60_000);
    expect(deadline?.getTime()).toBe(messageDeadline.getTime());
  });

  it('answers CheckTransaction UNKNOWN by default and with the handler decision otherwise', async () => {
    const check = (client: ParticipantClient): Promise<CheckTransactionResponse> =>
      new Promise((resolve, reject) =>
        client.checkTransaction(
          { messageId: 'm-1', key: 'order-1', subject: 's', headers: {}, check: 1 },
          new Metadata(),
          { deadline: new Date(Date.now() + 5_000) },
          (err, res) => (err || res === undefined ? reject(err ?? new Error('no response')) : resolve(res)),
        ),
      );
    const plain = await startServer(() => undefined);
    expect((await check(plain.client)).status).toBe(TransactionStatus.TRANSACTION_STATUS_UNKNOWN);
    const keys: string[] = [];
    const deciding = await startServer((server) =>
      server.onCheckTransaction((ctx) => {
        keys.push(ctx.key);
        return 'COMMIT';
      }),
    );
    expect((await check(deciding.client)).status).toBe(TransactionStatus.TRANSACTION_STATUS_COMMIT);
    expect(keys).toEqual(['order-1']);
  });

  it('validates options and registrations with errors naming the problem', () => {
    expect(() => new ParticipantServer({ port: 70_000 })).toThrow(/"port"/);
    expect(() => new ParticipantServer({ drainTimeoutMs: -1 })).toThrow(/"drainTimeoutMs"/);
    const server = new ParticipantServer();
    expect(() => server.register('bad name', { execute: () => undefined })).toThrow(/"action"/);
    expect(() => server.register('ok', {})).toThrow(/needs an execute or a compensate/);
    server.register('ok', { execute: () => undefined });
    expect(() => server.register('ok', { execute: () => undefined })).toThrow(/already has an execute/);
    expect(() => server.register('ok', { compensate: () => undefined })).not.toThrow();
  });

  it('close() lets an in-flight call finish', async () => {
    let release: () => void = () => undefined;
    let started: () => void = () => undefined;
    const handlerStarted = new Promise<void>((resolve) => (started = resolve));
    const { server, client } = await startServer((s) =>
      s.register('slow', {
        execute: async () => {
          started();
          await new Promise<void>((resolve) => (release = resolve));
          return Buffer.from('finished');
        },
      }),
    );
    const pending = callRpc(client, 'execute', stepCall({ action: 'slow' }));
    await handlerStarted;
    const closing = server.close();
    setTimeout(() => release(), 50);
    const response = await pending;
    await closing;
    expect(Buffer.from(response.result?.output ?? []).toString()).toBe('finished');
  });

  it('close() cancels calls still running after drainTimeoutMs and aborts their signals', async () => {
    let signal: AbortSignal | undefined;
    let started: () => void = () => undefined;
    const handlerStarted = new Promise<void>((resolve) => (started = resolve));
    const { server, client } = await startServer(
      (s) =>
        s.register('stuck', {
          execute: (ctx) =>
            new Promise<void>((_, reject) => {
              signal = ctx.signal;
              started();
              ctx.signal.addEventListener('abort', () => reject(new Error('aborted')));
            }),
        }),
      { drainTimeoutMs: 100 },
    );
    const pending = rpcError(callRpc(client, 'execute', stepCall({ action: 'stuck' })));
    await handlerStarted;
    await server.close();
    expect(signal?.aborted).toBe(true);
    const err = await pending;
    expect([status.CANCELLED, status.UNAVAILABLE]).toContain(err.code);
  });
});
