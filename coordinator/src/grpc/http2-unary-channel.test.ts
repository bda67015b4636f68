// The lean HTTP/2 unary client against a real grpc-js server: answers, error
// statuses, deadlines, cancellation, size limits, refused and lost connections,
// reconnect backoff, a broken session, keepalive only while calls are in flight.
// The defences against other servers (grpc-go, grpcio) are in test/src/transport.

import { Server, ServerCredentials, status, type sendUnaryData, type ServerUnaryCall } from '@grpc/grpc-js';
import { ExecuteRequest, ExecuteResponse, ParticipantService, StepOutcome, type ParticipantServer } from '@saga/proto';
import { mkdtempSync, rmSync } from 'node:fs';
import http2 from 'node:http2';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { connectFrames } from './h2-frame-session.js';
import { Http2UnaryChannel, type Http2UnaryChannelOptions } from './http2-unary-channel.js';
import type { UnaryAnswer } from './participant-transport.js';
import type { UnarySession } from './unary-session.js';

type Handler = (call: ServerUnaryCall<ExecuteRequest, ExecuteResponse>, callback: sendUnaryData<ExecuteResponse>) => void;

const succeeded = (output: Buffer): ExecuteResponse => ({
  result: { outcome: StepOutcome.STEP_OUTCOME_SUCCEEDED, output, errorCode: '', errorMessage: '' },
});

/** A grpc-js participant on `127.0.0.1:port`, or on `unix` (a socket path) when given. */
async function serve(handler: Handler, port = 0, unix?: string): Promise<{ server: Server; address: string }> {
  const server = new Server();
  const impl: ParticipantServer = {
    execute: handler,
    compensate: handler,
    checkTransaction: (_call, cb) => cb({ code: status.UNIMPLEMENTED }),
  };
  server.addService(ParticipantService, impl);
  const target = unix === undefined ? `127.0.0.1:${port}` : `unix:${unix}`;
  const bound = await new Promise<number>((resolve, reject) => server.bindAsync(target, ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))));
  return { server, address: unix === undefined ? `127.0.0.1:${bound}` : target };
}

function call(channel: Http2UnaryChannel, deadlineMs = 5000, path = '/saga.v1.Participant/Execute'): Promise<UnaryAnswer> {
  const request = ExecuteRequest.encode({ call: { sagaId: 's-1', sagaName: 'n', stepName: 'a', action: 'do', payload: Buffer.from('p'), attempt: 1, compensationEpoch: 0, idempotencyKey: 's-1/a/execute', deadline: new Date(), outputs: {}, metadata: { k: 'v' } } }).finish();
  return new Promise((resolve) => channel.unary({ path, message: request, deadline: Date.now() + deadlineMs }, resolve));
}

const baseOptions: Http2UnaryChannelOptions = {
  maxReceiveBytes: 1024 * 1024,
  keepaliveMs: 0,
  keepaliveTimeoutMs: 1000,
  connectTimeoutMs: 5000,
  maxStreamsPerConnection: 1000,
  initialReconnectBackoffMs: 50,
  maxReconnectBackoffMs: 200,
  maxMetadataHeaderBytes: 4096,
};
const at = (address: string): { address: string } => ({ address });
const cleanup: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanup.splice(0)) c();
});

// Both HTTP/2s the channel can run on: node:http2's and the coordinator's own frames.
describe.each(['node', 'own'] as const)('Http2UnaryChannel on %s framing', (framing) => {
  const options: Http2UnaryChannelOptions = { ...baseOptions, framing };
  const dial = (authority: string, o: http2.SecureClientSessionOptions): UnarySession => (framing === 'own' ? connectFrames(authority, o) : http2.connect(authority, o));

  it('returns the response message of a successful call and sends the request intact', async () => {
    let seen: ExecuteRequest | undefined;
    const { server, address } = await serve((c, cb) => {
      seen = c.request;
      cb(null, succeeded(Buffer.from('out')));
    });
    const channel = new Http2UnaryChannel(at(address), options);
    cleanup.push(() => channel.close(), () => server.forceShutdown());
    const answer = await call(channel);
    expect(answer.code).toBe(0);
    expect(ExecuteResponse.decode(answer.message ?? Buffer.alloc(0)).result?.output.toString()).toBe('out');
    expect(seen?.call?.idempotencyKey).toBe('s-1/a/execute');
    expect(seen?.call?.metadata).toEqual({ k: 'v' });
    // The connection is reused.
    expect((await call(channel)).code).toBe(0);
  });

  it('calls a participant listening on a unix socket', async () => {
    const dir = mkdtempSync(join(tmpdir(), `unary-unix-${framing}-`));
    const path = join(dir, 'participant.sock');
    const { server, address } = await serve((_c, cb) => cb(null, succeeded(Buffer.from('over unix'))), 0, path);
    const channel = new Http2UnaryChannel(at(address), options);
    cleanup.push(() => channel.close(), () => server.forceShutdown(), () => rmSync(dir, { recursive: true, force: true }));
    const answer = await call(channel);
    expect(answer.code).toBe(0);
    expect(ExecuteResponse.decode(answer.message ?? Buffer.alloc(0)).result?.output.toString()).toBe('over unix');
  });

  it('reports the status and message of a failed call', async () => {
    const { server, address } = await serve((_c, cb) => cb({ code: status.UNAVAILABLE, details: 'down for 100% maintenance: ünïcode' }));
    const channel = new Http2UnaryChannel(at(address), options);
    cleanup.push(() => channel.close(), () => server.forceShutdown());
    const answer = await call(channel);
    expect(answer).toMatchObject({ code: status.UNAVAILABLE, details: 'down for 100% maintenance: ünïcode' });
  });

  it('ends a call that outlives its deadline with DEADLINE_EXCEEDED', async () => {
    let cancelled = false;
    const { server, address } = await serve((c) => c.on('cancelled', () => (cancelled = true)));
    const channel = new Http2UnaryChannel(at(address), options);
    cleanup.push(() => channel.close(), () => server.forceShutdown());
    const started = Date.now();
    const answer = await call(channel, 150);
    expect(answer.code).toBe(status.DEADLINE_EXCEEDED);
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    await vi.waitFor(() => expect(cancelled).toBe(true), { timeout: 5000 });
  });

  it('cancels a call on request', async () => {
    let arrived = false;
    let cancelled = false;
    const { server, address } = await serve((c) => {
      arrived = true;
      c.on('cancelled', () => (cancelled = true));
    });
    const channel = new Http2UnaryChannel(at(address), options);
    cleanup.push(() => channel.close(), () => server.forceShutdown());
    const message = ExecuteRequest.encode({ call: undefined }).finish();
    let handle: { cancel(): void } | undefined;
    const answer = new Promise<UnaryAnswer>((resolve) => {
      handle = channel.unary({ path: '/saga.v1.Participant/Execute', message, deadline: Date.now() + 10_000 }, resolve);
    });
    await vi.waitFor(() => expect(arrived).toBe(true), { timeout: 5000 });
    handle?.cancel();
    expect((await answer).code).toBe(status.CANCELLED);
    await vi.waitFor(() => expect(cancelled).toBe(true), { timeout: 5000 });
  });

  it('refuses an answer larger than its limit', async () => {
    const { server, address } = await serve((_c, cb) => cb(null, succeeded(Buffer.alloc(200_000, 1))));
    const channel = new Http2UnaryChannel(at(address), { ...options, maxReceiveBytes: 1000 });
    cleanup.push(() => channel.close(), () => server.forceShutdown());
    expect((await call(channel)).code).toBe(status.RESOURCE_EXHAUSTED);
  });

  it('answers UNIMPLEMENTED for a method the server does not have', async () => {
    const { server, address } = await serve((_c, cb) => cb(null, succeeded(Buffer.alloc(0))));
    const channel = new Http2UnaryChannel(at(address), options);
    cleanup.push(() => channel.close(), () => server.forceShutdown());
    expect((await call(channel, 5000, '/saga.v1.Participant/Nope')).code).toBe(status.UNIMPLEMENTED);
  });

  it('answers UNAVAILABLE when nobody listens, and reconnects once the server is back', async () => {
    const first = await serve((_c, cb) => cb(null, succeeded(Buffer.alloc(0))));
    const port = Number(first.address.split(':')[1]);
    const channel = new Http2UnaryChannel(at(first.address), options);
    cleanup.push(() => channel.close());
    expect((await call(channel)).code).toBe(0);
    first.server.forceShutdown();
    // Until the client has seen the connection go, a call may still be tried on it.
    await vi.waitFor(async () => expect((await call(channel)).code).toBe(status.UNAVAILABLE), { timeout: 5000 });
    const second = await serve((_c, cb) => cb(null, succeeded(Buffer.from('again'))), port);
    cleanup.push(() => second.server.forceShutdown());
    // Re-dialled once the reconnect backoff has passed.
    const answer = await vi.waitFor(
      async () => {
        const a = await call(channel);
        expect(a.code).toBe(0);
        return a;
      },
      { timeout: 5000 },
    );
    expect(ExecuteResponse.decode(answer.message ?? Buffer.alloc(0)).result?.output.toString()).toBe('again');
  });

  it('answers UNAVAILABLE after close()', async () => {
    const { server, address } = await serve((_c, cb) => cb(null, succeeded(Buffer.alloc(0))));
    const channel = new Http2UnaryChannel(at(address), options);
    cleanup.push(() => server.forceShutdown());
    channel.close();
    expect((await call(channel)).code).toBe(status.UNAVAILABLE);
  });

  it('drops a session whose request() throws and sends the call on a new connection', async () => {
    const { server, address } = await serve((_c, cb) => cb(null, succeeded(Buffer.from('ok'))));
    const sessions: UnarySession[] = [];
    const channel = new Http2UnaryChannel(at(address), {
      ...options,
      connect: (authority, o) => {
        const session = dial(authority, o);
        sessions.push(session);
        return session;
      },
    });
    cleanup.push(() => channel.close(), () => server.forceShutdown());
    expect((await call(channel)).code).toBe(0);
    const broken = sessions[0];
    if (broken === undefined) throw new Error('no session was dialled');
    broken.request = () => {
      throw new Error('the session is broken');
    };
    expect((await call(channel)).code).toBe(0);
    expect((await call(channel)).code).toBe(0);
    expect(channel.stats().dials).toBe(2);
    expect(broken.destroyed).toBe(true);
  });

  it('waits out a capped, jittered backoff after a failed connect instead of re-dialling at once', async () => {
    let connections = 0;
    const refuser = net.createServer((socket) => {
      connections++;
      socket.destroy();
    });
    await new Promise<void>((resolve) => refuser.listen(0, '127.0.0.1', resolve));
    const port = (refuser.address() as net.AddressInfo).port;
    const channel = new Http2UnaryChannel(at(`127.0.0.1:${port}`), {
      ...options,
      initialReconnectBackoffMs: 60_000,
      maxReconnectBackoffMs: 60_000,
      random: () => 0.5,
    });
    cleanup.push(() => channel.close(), () => refuser.close());
    const first = await call(channel);
    expect(first.code).toBe(status.UNAVAILABLE);
    const second = await call(channel);
    expect(second.code).toBe(status.UNAVAILABLE);
    // Full jitter: half of the 60 s cap.
    expect(second.details).toMatch(/next connect attempt in (29|30)\d{3} ms/);
    expect(channel.stats().dials).toBe(1);
    expect(connections).toBe(1);
  });

  it('pings only while a call is in flight', async () => {
    let pings = 0;
    let release: (() => void) | undefined;
    const raw = http2.createServer();
    raw.on('session', (session) => session.on('ping', () => pings++));
    raw.on('stream', (stream) => {
      release = () => {
        stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
        stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
        const message = ExecuteResponse.encode(succeeded(Buffer.from('late'))).finish();
        const frame = Buffer.alloc(5 + message.length);
        frame.writeUInt32BE(message.length, 1);
        frame.set(message, 5);
        stream.end(frame);
      };
    });
    await new Promise<void>((resolve) => raw.listen(0, '127.0.0.1', resolve));
    const port = (raw.address() as net.AddressInfo).port;
    const channel = new Http2UnaryChannel(at(`127.0.0.1:${port}`), { ...options, keepaliveMs: 25 });
    cleanup.push(() => channel.close(), () => raw.close());
    const held = call(channel, 30_000);
    await vi.waitFor(() => expect(pings).toBeGreaterThanOrEqual(2), { timeout: 10_000 });
    release?.();
    expect((await held).code).toBe(0);
    // Idle: nothing scheduled, so no ping can follow.
    await vi.waitFor(() => expect(channel.stats().keepaliveArmed).toBe(false), { timeout: 5000 });
    await vi.waitFor(() => expect(pings).toBe(channel.stats().pings), { timeout: 5000 });
  });
});
