// The lean HTTP/2 unary client against a real grpc-js server: answers, error
// statuses, deadlines, cancellation, size limits, refused and lost connections.

import { Server, ServerCredentials, status, type sendUnaryData, type ServerUnaryCall } from '@grpc/grpc-js';
import { ExecuteRequest, ExecuteResponse, ParticipantService, StepOutcome, type ParticipantServer } from '@saga/proto';
import { afterEach, describe, expect, it } from 'vitest';
import { Http2UnaryChannel, type UnaryAnswer } from './http2-unary-channel.js';

type Handler = (call: ServerUnaryCall<ExecuteRequest, ExecuteResponse>, callback: sendUnaryData<ExecuteResponse>) => void;

const succeeded = (output: Buffer): ExecuteResponse => ({
  result: { outcome: StepOutcome.STEP_OUTCOME_SUCCEEDED, output, errorCode: '', errorMessage: '' },
});

async function serve(handler: Handler, port = 0): Promise<{ server: Server; address: string }> {
  const server = new Server();
  const impl: ParticipantServer = {
    execute: handler,
    compensate: handler,
    checkTransaction: (_call, cb) => cb({ code: status.UNIMPLEMENTED }),
  };
  server.addService(ParticipantService, impl);
  const bound = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`127.0.0.1:${port}`, ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  return { server, address: `127.0.0.1:${bound}` };
}

function call(channel: Http2UnaryChannel, deadlineMs = 5000, path = '/saga.v1.Participant/Execute'): Promise<UnaryAnswer> {
  const request = ExecuteRequest.encode({ call: { sagaId: 's-1', sagaName: 'n', stepName: 'a', action: 'do', payload: Buffer.from('p'), attempt: 1, idempotencyKey: 's-1/a/execute', deadline: new Date(), outputs: {}, metadata: { k: 'v' } } }).finish();
  return new Promise((resolve) => channel.call(path, request, Date.now() + deadlineMs, resolve));
}

const options = { maxReceiveBytes: 1024 * 1024, keepaliveMs: 0, keepaliveTimeoutMs: 1000 };
const cleanup: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanup.splice(0)) c();
});

describe('Http2UnaryChannel', () => {
  it('returns the response message of a successful call and sends the request intact', async () => {
    let seen: ExecuteRequest | undefined;
    const { server, address } = await serve((c, cb) => {
      seen = c.request;
      cb(null, succeeded(Buffer.from('out')));
    });
    const channel = new Http2UnaryChannel(address, options);
    cleanup.push(() => channel.close(), () => server.forceShutdown());
    const answer = await call(channel);
    expect(answer.code).toBe(0);
    expect(ExecuteResponse.decode(answer.message ?? Buffer.alloc(0)).result?.output.toString()).toBe('out');
    expect(seen?.call?.idempotencyKey).toBe('s-1/a/execute');
    expect(seen?.call?.metadata).toEqual({ k: 'v' });
    // The connection is reused.
    expect((await call(channel)).code).toBe(0);
  });

  it('reports the status and message of a failed call', async () => {
    const { server, address } = await serve((_c, cb) => cb({ code: status.UNAVAILABLE, details: 'down for 100% maintenance: ünïcode' }));
    const channel = new Http2UnaryChannel(address, options);
    cleanup.push(() => channel.close(), () => server.forceShutdown());
    const answer = await call(channel);
    expect(answer).toMatchObject({ code: status.UNAVAILABLE, details: 'down for 100% maintenance: ünïcode' });
  });

  it('ends a call that outlives its deadline with DEADLINE_EXCEEDED', async () => {
    let cancelled = false;
    const { server, address } = await serve((c) => c.on('cancelled', () => (cancelled = true)));
    const channel = new Http2UnaryChannel(address, options);
    cleanup.push(() => channel.close(), () => server.forceShutdown());
    const started = Date.now();
    const answer = await call(channel, 150);
    expect(answer.code).toBe(status.DEADLINE_EXCEEDED);
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    await new Promise((r) => setTimeout(r, 100));
    expect(cancelled).toBe(true);
  });

  it('cancels a call on request', async () => {
    const { server, address } = await serve(() => undefined);
    const channel = new Http2UnaryChannel(address, options);
    cleanup.push(() => channel.close(), () => server.forceShutdown());
    const request = ExecuteRequest.encode({ call: undefined }).finish();
    const answer = await new Promise<UnaryAnswer>((resolve) => {
      const handle = channel.call('/saga.v1.Participant/Execute', request, Date.now() + 5000, resolve);
      setTimeout(() => handle.cancel(), 50);
    });
    expect(answer.code).toBe(status.CANCELLED);
  });

  it('refuses an answer larger than its limit', async () => {
    const { server, address } = await serve((_c, cb) => cb(null, succeeded(Buffer.alloc(200_000, 1))));
    const channel = new Http2UnaryChannel(address, { ...options, maxReceiveBytes: 1000 });
    cleanup.push(() => channel.close(), () => server.forceShutdown());
    expect((await call(channel)).code).toBe(status.RESOURCE_EXHAUSTED);
  });

  it('answers UNIMPLEMENTED for a method the server does not have', async () => {
    const { server, address } = await serve((_c, cb) => cb(null, succeeded(Buffer.alloc(0))));
    const channel = new Http2UnaryChannel(address, options);
    cleanup.push(() => channel.close(), () => server.forceShutdown());
    expect((await call(channel, 5000, '/saga.v1.Participant/Nope')).code).toBe(status.UNIMPLEMENTED);
  });

  it('answers UNAVAILABLE when nobody listens, and reconnects once the server is back', async () => {
    const first = await serve((_c, cb) => cb(null, succeeded(Buffer.alloc(0))));
    const port = Number(first.address.split(':')[1]);
    const channel = new Http2UnaryChannel(first.address, options);
    cleanup.push(() => channel.close());
    expect((await call(channel)).code).toBe(0);
    first.server.forceShutdown();
    await new Promise((r) => setTimeout(r, 50));
    expect((await call(channel)).code).toBe(status.UNAVAILABLE);
    const second = await serve((_c, cb) => cb(null, succeeded(Buffer.from('again'))), port);
    cleanup.push(() => second.server.forceShutdown());
    const answer = await call(channel);
    expect(answer.code).toBe(0);
    expect(ExecuteResponse.decode(answer.message ?? Buffer.alloc(0)).result?.output.toString()).toBe('again');
  });

  it('answers UNAVAILABLE after close()', async () => {
    const { server, address } = await serve((_c, cb) => cb(null, succeeded(Buffer.alloc(0))));
    const channel = new Http2UnaryChannel(address, options);
    cleanup.push(() => server.forceShutdown());
    channel.close();
    expect((await call(channel)).code).toBe(status.UNAVAILABLE);
  });
});
